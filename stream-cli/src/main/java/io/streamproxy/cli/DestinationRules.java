package io.streamproxy.cli;

import io.streamproxy.ClientIdentity;
import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.protocol.HostSyntax;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The server's {@code --allow} and {@code --deny} rules: {@code CIDR[:PORT[-PORT]]} or {@code HOST[:PORT[-PORT]]}
 * (IPv6 CIDRs in brackets: {@code [fd00::/8]:53}). Host rules match the name in the header, without case and without
 * one trailing dot ({@code *.example.com} matches subdomains); CIDR rules match every address the destination
 * resolves to, which is what is dialled, so {@code localhost} is caught by {@code 127.0.0.0/8}. An IPv4-mapped or
 * IPv4-compatible IPv6 address is matched as its IPv4 address, and {@code 0.0.0.0/8} and {@code ::} count as this
 * host (they are matched as {@code 127.0.0.1} and {@code ::1} too). A deny rule always wins; with any allow rule, only
 * destinations whose name or dialled address an allow rule matches are dialled.
 *
 * <p>A rule may name the clients it is for, before an {@code @}: {@code cn=NAME@RULE} (the certificate subject's
 * common name), {@code dns=NAME@RULE} (a DNS subject alternative name; {@code *.example.com} matches its
 * subdomains), {@code uri=URI@RULE} (a URI subject alternative name, such as a SPIFFE id) or {@code key=HEX@RULE}
 * (the SHA-256 of the certificate's public key, 64 hex digits, colons allowed). Such a rule counts only for those
 * clients: {@code --allow cn=billing@10.0.0.5:5432 --allow cn=web@*.internal:443} lets {@code billing} reach the
 * database and {@code web} only {@code *.internal:443}, and nobody else anything. Rules without a client are for
 * everyone.
 */
final class DestinationRules implements DestinationPolicy {
    private final List<Rule> allowNames = new ArrayList<>();
    private final List<Rule> allowNets = new ArrayList<>();
    private final List<Rule> denyNames = new ArrayList<>();
    private final List<Rule> denyNets = new ArrayList<>();

    static DestinationRules parse(List<String> allow, List<String> deny) {
        DestinationRules rules = new DestinationRules();
        for (String r : allow) {
            Rule rule = Rule.parse(r);
            (rule.host != null ? rules.allowNames : rules.allowNets).add(rule);
        }
        for (String r : deny) {
            Rule rule = Rule.parse(r);
            (rule.host != null ? rules.denyNames : rules.denyNets).add(rule);
        }
        return rules;
    }

    private boolean hasAllowRules() {
        return !allowNames.isEmpty() || !allowNets.isEmpty();
    }

    /** Without a client identity only the rules for everyone count. */
    @Override
    public boolean allows(Destination destination) {
        return allows(destination, (ClientIdentity) null);
    }

    @Override
    public boolean allows(Destination destination, InetAddress address) {
        return allows(destination, address, null);
    }

    /** Before resolving: deny by name; with only name allow rules for this client, refuse a name none allows. */
    @Override
    public boolean allows(Destination destination, ClientIdentity client) {
        for (Rule r : denyNames) {
            if (r.isFor(client) && r.matchesName(destination)) {
                return false;
            }
        }
        if (hasAllowRules() && allowNets.stream().noneMatch(r -> r.isFor(client))) {
            for (Rule r : allowNames) {
                if (r.isFor(client) && r.matchesName(destination)) {
                    return true;
                }
            }
            return false;
        }
        return true;
    }

    /** Each resolved address: deny by CIDR; allow by name or CIDR (the rules for this client and for everyone). */
    @Override
    public boolean allows(Destination destination, InetAddress address, ClientIdentity client) {
        List<InetAddress> seenAs = asDialled(address);
        for (Rule r : denyNets) {
            if (r.isFor(client) && r.matchesAddress(destination.port(), seenAs)) {
                return false;
            }
        }
        if (!hasAllowRules()) {
            return true;
        }
        for (Rule r : allowNames) {
            if (r.isFor(client) && r.matchesName(destination)) {
                return true;
            }
        }
        for (Rule r : allowNets) {
            if (r.isFor(client) && r.matchesAddress(destination.port(), seenAs)) {
                return true;
            }
        }
        return false;
    }

    /** The address and what else it reaches: the IPv4 inside an IPv4-compatible one, this host for 0/8 and ::. */
    static List<InetAddress> asDialled(InetAddress address) {
        List<InetAddress> all = new ArrayList<>(3);
        all.add(address);
        byte[] b = address.getAddress();
        try {
            if (address instanceof Inet6Address) {
                boolean zeros = true;
                for (int i = 0; i < 12; i++) {
                    zeros &= b[i] == 0;
                }
                if (address.isAnyLocalAddress()) {
                    all.add(InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
                } else if (zeros && !address.isLoopbackAddress()) {
                    all.add(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
                }
            } else if (address instanceof Inet4Address && b[0] == 0) {
                all.add(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
            }
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // lengths are right
        }
        return all;
    }

    /** One rule. */
    static final class Rule {
        private final byte[] network;
        private final int prefix;
        private final String host;
        private final int lowPort;
        private final int highPort;
        private Selector client;

        private Rule(byte[] network, int prefix, String host, int lowPort, int highPort) {
            this.network = network;
            this.prefix = prefix;
            this.host = host;
            this.lowPort = lowPort;
            this.highPort = highPort;
        }

        static Rule parse(String text) {
            int at = text.lastIndexOf('@');
            if (at >= 0) {
                Selector who = Selector.parse(text, text.substring(0, at).trim());
                Rule r = parseTarget(text, text.substring(at + 1));
                r.client = who;
                return r;
            }
            return parseTarget(text, text);
        }

        /** @return true if the rule counts for this client (it names none, or it names this one) */
        boolean isFor(ClientIdentity who) {
            return client == null || (who != null && client.matches(who));
        }

        private static Rule parseTarget(String text, String targetText) {
            String target = targetText.trim();
            String ports = null;
            if (target.startsWith("[")) {
                int close = target.indexOf(']');
                if (close < 0) {
                    throw bad(text, "missing ']'");
                }
                if (close + 1 < target.length()) {
                    if (target.charAt(close + 1) != ':') {
                        throw bad(text, "expected ':' after ']'");
                    }
                    ports = target.substring(close + 2);
                }
                target = target.substring(1, close);
            } else {
                int colon = target.lastIndexOf(':');
                if (colon >= 0 && target.indexOf(':') == colon) {
                    ports = target.substring(colon + 1);
                    target = target.substring(0, colon);
                } else if (colon >= 0) {
                    throw bad(text, "write IPv6 rules in brackets, as [fd00::/8]:53");
                }
            }
            int low = 1;
            int high = 65535;
            if (ports != null) {
                String[] p = ports.split("-", -1);
                if (p.length > 2 || p[0].isEmpty()) {
                    throw bad(text, "ports are PORT or PORT-PORT");
                }
                low = port(text, p[0]);
                high = p.length == 2 ? port(text, p[1]) : low;
                if (high < low) {
                    throw bad(text, "port range " + ports + " is empty");
                }
            }
            if (target.isEmpty()) {
                throw bad(text, "no host or CIDR");
            }
            int slash = target.indexOf('/');
            String ip = slash >= 0 ? target.substring(0, slash) : target;
            HostSyntax.Host parsed;
            try {
                parsed = HostSyntax.parse(ip.startsWith("*.") ? ip.substring(2) : ip);
            } catch (IllegalArgumentException e) {
                throw bad(text, e.getMessage());
            }
            if (parsed.isLiteral()) {
                if (ip.startsWith("*.")) {
                    throw bad(text, "a wildcard goes with a name, not an address");
                }
                byte[] net = parsed.address().getAddress();
                int bits = net.length * 8;
                int prefix = bits;
                if (slash >= 0) {
                    try {
                        prefix = Integer.parseInt(target.substring(slash + 1));
                    } catch (NumberFormatException e) {
                        throw bad(text, "prefix length is not a number");
                    }
                    if (prefix < 0 || prefix > bits) {
                        throw bad(text, "prefix length must be 0.." + bits);
                    }
                }
                return new Rule(net, prefix, null, low, high);
            }
            if (slash >= 0) {
                throw bad(text, "'" + ip + "' is not an IP address");
            }
            return new Rule(null, 0, (ip.startsWith("*.") ? "*." : "") + parsed.name(), low, high);
        }

        private static int port(String rule, String text) {
            try {
                int p = Integer.parseInt(text);
                if (p < 1 || p > 65535) {
                    throw bad(rule, "port " + p + " is outside 1..65535");
                }
                return p;
            } catch (NumberFormatException e) {
                throw bad(rule, "port '" + text + "' is not a number");
            }
        }

        private static CliException bad(String rule, String why) {
            return new CliException("bad rule '" + rule + "': " + why
                    + " (rules are [CLIENT@]CIDR[:PORT[-PORT]] or [CLIENT@]HOST[:PORT[-PORT]], CLIENT one of cn=NAME, "
                    + "dns=NAME, uri=URI, key=SHA256-HEX)");
        }

        private boolean portMatches(int port) {
            return port >= lowPort && port <= highPort;
        }

        boolean matchesName(Destination d) {
            if (host == null || !portMatches(d.port())) {
                return false;
            }
            HostSyntax.Host h;
            try {
                h = HostSyntax.parse(d.host());
            } catch (IllegalArgumentException e) {
                return false;
            }
            if (h.isLiteral()) {
                return false;
            }
            String name = h.name().toLowerCase(Locale.ROOT);
            return host.startsWith("*.") ? name.endsWith(host.substring(1)) : name.equals(host);
        }

        boolean matchesAddress(int port, List<InetAddress> addresses) {
            if (network == null || !portMatches(port)) {
                return false;
            }
            for (InetAddress a : addresses) {
                if (inNetwork(a.getAddress())) {
                    return true;
                }
            }
            return false;
        }

        private boolean inNetwork(byte[] addr) {
            if (addr.length != network.length) {
                return false;
            }
            int full = prefix / 8;
            for (int i = 0; i < full; i++) {
                if (addr[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (addr[full] & mask) == (network[full] & mask);
        }
    }

    /** Which clients a rule is for: one field of the client certificate and the value it must have. */
    static final class Selector {
        private final String kind;
        private final String value;

        private Selector(String kind, String value) {
            this.kind = kind;
            this.value = value;
        }

        static Selector parse(String rule, String text) {
            int eq = text.indexOf('=');
            String kind = eq < 0 ? "" : text.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = eq < 0 ? "" : text.substring(eq + 1).trim();
            if (value.isEmpty()) {
                throw Rule.bad(rule, "'" + text + "' names no client value");
            }
            switch (kind) {
                case "cn":
                case "uri":
                    return new Selector(kind, value);
                case "dns":
                    return new Selector(kind, value.toLowerCase(Locale.ROOT));
                case "key":
                    String hex = value.replace(":", "").toLowerCase(Locale.ROOT);
                    if (!hex.matches("[0-9a-f]{64}")) {
                        throw Rule.bad(rule, "key= takes the SHA-256 of the public key, 64 hex digits");
                    }
                    return new Selector(kind, hex);
                default:
                    throw Rule.bad(rule, "'" + text + "' is not cn=, dns=, uri= or key=");
            }
        }

        boolean matches(ClientIdentity who) {
            switch (kind) {
                case "cn":
                    return value.equals(who.commonName());
                case "uri":
                    return who.uris().contains(value);
                case "key":
                    return value.equals(who.publicKeySha256());
                default:
                    for (String name : who.dnsNames()) {
                        String n = name.toLowerCase(Locale.ROOT);
                        if (value.startsWith("*.") ? n.endsWith(value.substring(1)) && !n.startsWith("*.")
                                : n.equals(value)) {
                            return true;
                        }
                    }
                    return false;
            }
        }
    }
}

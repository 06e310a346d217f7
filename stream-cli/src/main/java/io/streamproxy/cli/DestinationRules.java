package io.streamproxy.cli;

import com.google.common.net.InetAddresses;
import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The server's {@code --allow} and {@code --deny} rules: {@code CIDR[:PORT[-PORT]]} or {@code HOST[:PORT[-PORT]]}
 * (IPv6 CIDRs in brackets: {@code [fd00::/8]:53}). With any allow rule only matching destinations are dialled;
 * a deny rule always wins. Host rules match the name in the header, case-insensitively ({@code *.example.com}
 * matches subdomains); CIDR rules match IP literals in the header.
 */
final class DestinationRules implements DestinationPolicy {
    private final List<Rule> allow;
    private final List<Rule> deny;

    private DestinationRules(List<Rule> allow, List<Rule> deny) {
        this.allow = allow;
        this.deny = deny;
    }

    static DestinationRules parse(List<String> allow, List<String> deny) {
        List<Rule> a = new ArrayList<>();
        List<Rule> d = new ArrayList<>();
        for (String r : allow) {
            a.add(Rule.parse(r));
        }
        for (String r : deny) {
            d.add(Rule.parse(r));
        }
        return new DestinationRules(a, d);
    }

    @Override
    public boolean allows(Destination destination) {
        for (Rule r : deny) {
            if (r.matches(destination)) {
                return false;
            }
        }
        if (allow.isEmpty()) {
            return true;
        }
        for (Rule r : allow) {
            if (r.matches(destination)) {
                return true;
            }
        }
        return false;
    }

    /** One rule. */
    static final class Rule {
        private final byte[] network;
        private final int prefix;
        private final String host;
        private final int lowPort;
        private final int highPort;

        private Rule(byte[] network, int prefix, String host, int lowPort, int highPort) {
            this.network = network;
            this.prefix = prefix;
            this.host = host;
            this.lowPort = lowPort;
            this.highPort = highPort;
        }

        static Rule parse(String text) {
            String target = text.trim();
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
            if (slash >= 0 || InetAddresses.isInetAddress(target)) {
                String ip = slash >= 0 ? target.substring(0, slash) : target;
                if (!InetAddresses.isInetAddress(ip)) {
                    throw bad(text, "'" + ip + "' is not an IP address");
                }
                byte[] net = InetAddresses.forString(ip).getAddress();
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
            return new Rule(null, 0, target.toLowerCase(Locale.ROOT), low, high);
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
                    + " (rules are CIDR[:PORT[-PORT]] or HOST[:PORT[-PORT]])");
        }

        boolean matches(Destination d) {
            if (d.port() < lowPort || d.port() > highPort) {
                return false;
            }
            if (host != null) {
                String h = d.host().toLowerCase(Locale.ROOT);
                return host.startsWith("*.") ? h.endsWith(host.substring(1)) : h.equals(host);
            }
            if (!InetAddresses.isInetAddress(d.host())) {
                return false;
            }
            InetAddress a = InetAddresses.forString(d.host());
            byte[] addr = a.getAddress();
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
}

package io.streamproxy.protocol;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;

/**
 * The one host parser of the project. A tunnel server dials on a client's behalf, so a host from the wire is never
 * handed to a lenient resolver in a form that means an address: canonical dotted-quad IPv4 and IPv6 (with an
 * optional zone) are literals and become addresses here, without any lookup; other numeric forms that resolvers read
 * as addresses ({@code 127.1}, {@code 2130706433}, {@code 0127.0.0.1}, {@code 0x7f.1}) and anything else with a
 * {@code :} are refused; everything else must be a well-formed DNS name (letters, digits, {@code -} and {@code _},
 * labels of 1 to 63 characters, at most one trailing dot). Pure code: it never resolves.
 */
public final class HostSyntax {
    private static final int MAX_NAME = 253;

    private HostSyntax() {
    }

    /** What a host is. */
    public enum Kind {
        /** A canonical dotted-quad IPv4 literal. */
        IPV4,
        /** An IPv6 literal, possibly with a zone. */
        IPV6,
        /** A DNS name. */
        NAME
    }

    /**
     * A parsed host.
     *
     * @param kind    what it is
     * @param text    the host as given
     * @param name    for a name: lower-cased, without one trailing dot (the form rules compare); for a literal: the
     *                address's canonical text, without a zone
     * @param address the address of a literal (an IPv4-mapped IPv6 literal gives the IPv4 address it maps to), null
     *                exactly for a name
     */
    public record Host(Kind kind, String text, String name, InetAddress address) {
        /**
         * Whether this host is an IP literal (IPv4 or IPv6) rather than a name.
         *
         * @return true for an IP literal
         */
        public boolean isLiteral() {
            return kind != Kind.NAME;
        }
    }

    /**
     * Parses a host strictly.
     *
     * @param host the host, as in a header (IPv6 without brackets)
     * @return the parsed host
     * @throws IllegalArgumentException saying why the host is refused (fit for an operator's log: control characters
     *                                  are escaped)
     */
    public static Host parse(String host) {
        if (host == null) {
            throw new IllegalArgumentException("host is missing (null)");
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host is empty");
        }
        if (host.length() > 255) {
            throw new IllegalArgumentException("host is " + host.length() + " characters, at most 255");
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c <= 0x20 || c == 0x7f) {
                throw bad(host, "contains a space or control character");
            }
            if (c > 0x7e) {
                throw bad(host, "is not ASCII (write an international name in its xn-- form)");
            }
        }
        if (host.startsWith("[") || host.endsWith("]")) {
            throw bad(host, "is in brackets (give an IPv6 address without brackets, as ::1)");
        }
        if (host.indexOf(':') >= 0) {
            InetAddress a = ipv6(host);
            String canonical = a.getHostAddress();
            int zoneAt = canonical.indexOf('%');
            return new Host(Kind.IPV6, host, zoneAt < 0 ? canonical : canonical.substring(0, zoneAt), a);
        }
        String bare = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        byte[] v4 = canonicalIpv4(host);
        if (v4 != null) {
            InetAddress a = address(v4);
            return new Host(Kind.IPV4, host, a.getHostAddress(), a);
        }
        if (bare.isEmpty()) {
            throw bad(host, "is not a name");
        }
        if (bare.length() < host.length() && canonicalIpv4(bare) != null) {
            throw bad(host, "is an IPv4 address with a trailing dot (write it without the dot, as " + bare + ")");
        }
        int lastDot = bare.lastIndexOf('.');
        String last = bare.substring(lastDot + 1);
        if (looksNumeric(last)) {
            throw bad(host, "is not a canonical IPv4 address (write four decimal parts without leading zeros, as "
                    + "127.0.0.1)");
        }
        if (bare.length() > MAX_NAME) {
            throw bad(host, "is longer than " + MAX_NAME + " characters");
        }
        int start = 0;
        while (start <= bare.length()) {
            int dot = bare.indexOf('.', start);
            int end = dot < 0 ? bare.length() : dot;
            checkLabel(host, bare.substring(start, end));
            if (dot < 0) {
                break;
            }
            start = dot + 1;
        }
        return new Host(Kind.NAME, host, bare.toLowerCase(Locale.ROOT), null);
    }

    /**
     * Parses a host strictly and returns its address when it is a literal.
     *
     * @param host the host
     * @return the literal's address, empty for a name
     * @throws IllegalArgumentException if the host is refused
     */
    public static Optional<InetAddress> literal(String host) {
        return Optional.ofNullable(parse(host).address());
    }

    private static void checkLabel(String host, String label) {
        if (label.isEmpty()) {
            throw bad(host, "has an empty label");
        }
        if (label.length() > 63) {
            throw bad(host, "has a label longer than 63 characters");
        }
        if (label.charAt(0) == '-' || label.charAt(label.length() - 1) == '-') {
            throw bad(host, "has a label that starts or ends with '-'");
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_';
            if (!ok) {
                throw bad(host, "has the character '" + c + "', which no host name has");
            }
        }
    }

    /** All decimal digits, or 0x followed by hex digits: what resolvers read as (part of) an IPv4 address. */
    private static boolean looksNumeric(String label) {
        if (label.isEmpty()) {
            return false;
        }
        if (label.length() >= 2 && label.charAt(0) == '0' && (label.charAt(1) == 'x' || label.charAt(1) == 'X')) {
            for (int i = 2; i < label.length(); i++) {
                if (Character.digit(label.charAt(i), 16) < 0) {
                    return false;
                }
            }
            return true;
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** Four decimal parts 0..255, no leading zeros, nothing else; null otherwise. */
    private static byte[] canonicalIpv4(String s) {
        byte[] out = new byte[4];
        int part = 0;
        int i = 0;
        int n = s.length();
        while (part < 4) {
            int start = i;
            int value = 0;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9' && i - start < 3) {
                value = value * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return null;
            }
            out[part++] = (byte) value;
            if (part < 4) {
                if (i >= n || s.charAt(i) != '.') {
                    return null;
                }
                i++;
            }
        }
        return i == n ? out : null;
    }

    private static InetAddress ipv6(String host) {
        String text = host;
        String zone = null;
        int percent = host.indexOf('%');
        if (percent >= 0) {
            zone = host.substring(percent + 1);
            text = host.substring(0, percent);
            if (zone.isEmpty() || !zone.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '_' || c == '.'
                    || c == '-')) {
                throw bad(host, "has an empty or malformed IPv6 zone");
            }
        }
        byte[] bytes = ipv6Bytes(text);
        if (bytes == null) {
            throw bad(host, "contains ':' but is not an IPv6 address");
        }
        InetAddress plain = address(bytes);
        if (zone == null) {
            return plain;
        }
        if (plain instanceof Inet4Address) {
            // an IPv4-mapped address is dialled as IPv4, where a zone means nothing; with a zone the JDK would keep
            // it as a 16-byte Inet6Address that rules written for the IPv4 address do not match
            throw bad(host, "is an IPv4-mapped address, which takes no zone (write it without the zone)");
        }
        try {
            if (zone.chars().allMatch(Character::isDigit)) {
                return Inet6Address.getByAddress(null, bytes, Integer.parseInt(zone));
            }
            NetworkInterface nif = NetworkInterface.getByName(zone);
            if (nif == null) {
                throw bad(host, "names the zone '" + zone + "', which is no interface here");
            }
            return Inet6Address.getByAddress(null, bytes, nif);
        } catch (UnknownHostException | SocketException | NumberFormatException e) {
            throw bad(host, "has an unusable zone: " + e.getMessage());
        }
    }

    /** RFC 4291 text form: 8 groups of 1-4 hex digits, one "::" at most, an optional trailing dotted quad. */
    private static byte[] ipv6Bytes(String s) {
        int[] groups = new int[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        int n = s.length();
        if (s.startsWith("::")) {
            gap = 0;
            i = 2;
            if (i == n) {
                return new byte[16];
            }
        } else if (s.startsWith(":")) {
            return null;
        }
        while (i < n) {
            if (count == 8) {
                return null;
            }
            int start = i;
            int value = 0;
            while (i < n && Character.digit(s.charAt(i), 16) >= 0 && i - start < 4) {
                value = value * 16 + Character.digit(s.charAt(i), 16);
                i++;
            }
            if (i < n && s.charAt(i) == '.') {
                // a trailing dotted quad: the last 32 bits
                byte[] v4 = canonicalIpv4(s.substring(start));
                if (v4 == null || count > 6) {
                    return null;
                }
                groups[count++] = ((v4[0] & 0xff) << 8) | (v4[1] & 0xff);
                groups[count++] = ((v4[2] & 0xff) << 8) | (v4[3] & 0xff);
                i = n;
                break;
            }
            if (i == start) {
                return null;
            }
            groups[count++] = value;
            if (i == n) {
                break;
            }
            if (s.charAt(i) != ':') {
                return null;
            }
            i++;
            if (i < n && s.charAt(i) == ':') {
                if (gap >= 0) {
                    return null;
                }
                gap = count;
                i++;
                if (i == n) {
                    break;
                }
            } else if (i == n) {
                return null; // a trailing single ':'
            }
        }
        if (gap < 0 ? count != 8 : count > 7) {
            return null;
        }
        byte[] out = new byte[16];
        int tail = gap < 0 ? 0 : count - gap;
        int head = gap < 0 ? count : gap;
        for (int g = 0; g < head; g++) {
            out[2 * g] = (byte) (groups[g] >> 8);
            out[2 * g + 1] = (byte) groups[g];
        }
        for (int g = 0; g < tail; g++) {
            int at = 8 - tail + g;
            out[2 * at] = (byte) (groups[head + g] >> 8);
            out[2 * at + 1] = (byte) groups[head + g];
        }
        return out;
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // 4 or 16 bytes
        }
    }

    private static IllegalArgumentException bad(String host, String why) {
        return new IllegalArgumentException("host '" + escape(host) + "' " + why);
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 80) + 8);
        for (int i = 0; i < s.length() && b.length() < 80; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c > 0x7e) {
                b.append(String.format("\\x%02x", (int) c & 0xffff));
            } else {
                b.append(c);
            }
        }
        if (b.length() >= 80) {
            b.append("...");
        }
        return b.toString();
    }
}

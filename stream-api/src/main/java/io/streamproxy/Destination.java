package io.streamproxy;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A destination a tunnel asks the server to dial: a host (name or IP literal, IPv6 without brackets) and a port in
 * 1..65535. The host must fit the header's 255-byte field and may not be empty; {@link #toString()} renders it as
 * {@code host:port} with brackets around IPv6 literals.
 *
 * @param host the host name or IP literal, without brackets
 * @param port the port, 1..65535
 */
public record Destination(String host, int port) {

    /** The largest host the header can carry, in UTF-8 bytes. */
    public static final int MAX_HOST_BYTES = 255;

    /**
     * Validates the parts.
     *
     * @param host the host name or IP literal (IPv6 without brackets)
     * @param port the port, 1..65535
     * @throws IllegalArgumentException if the host is empty, longer than 255 UTF-8 bytes or bracketed, or the port
     *                                  is outside 1..65535
     */
    public Destination {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("destination host is empty");
        }
        if (host.startsWith("[") || host.endsWith("]")) {
            throw new IllegalArgumentException("destination host must be given without brackets: " + host);
        }
        int bytes = host.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_HOST_BYTES) {
            throw new IllegalArgumentException(
                    "destination host is " + bytes + " bytes, the header holds at most " + MAX_HOST_BYTES);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("destination port " + port + " is outside 1..65535");
        }
    }

    /**
     * Returns a destination for host and port.
     *
     * @param host the host name or IP literal, without brackets
     * @param port the port, 1..65535
     * @return the destination
     */
    public static Destination of(String host, int port) {
        return new Destination(host, port);
    }

    /**
     * Returns an unresolved socket address for this destination; resolving it is the dialler's job.
     *
     * @return an unresolved address
     */
    public InetSocketAddress toUnresolvedAddress() {
        return InetSocketAddress.createUnresolved(host, port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}

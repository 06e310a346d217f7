package io.streamproxy;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Instant;

/**
 * Describes one tunnel session to a {@link SessionListener}: a server-unique id, the protocol, the client's address
 * and the destination it asked for; for sessions a server opened, also the client certificate's subject, the
 * address really dialled and when relaying started.
 *
 * @param id             a number unique within the server that opened the session
 * @param protocol       TCP or UDP
 * @param client         the client's remote address
 * @param destination    the destination the session relays to, as the header named it
 * @param clientIdentity the subject (RFC 2253) of the client's certificate, or null if unknown
 * @param dialled        the resolved address the server connected to, or null if unknown
 * @param openedAt       when relaying started (wall clock), or null if unknown
 */
public record SessionInfo(long id, Protocol protocol, SocketAddress client, Destination destination,
                          String clientIdentity, InetSocketAddress dialled, Instant openedAt) {

    /**
     * Describes a session by its id, protocol, client and destination alone.
     *
     * @param id          a number unique within the server
     * @param protocol    TCP or UDP
     * @param client      the client's remote address
     * @param destination the destination
     */
    public SessionInfo(long id, Protocol protocol, SocketAddress client, Destination destination) {
        this(id, protocol, client, destination, null, null, null);
    }
}

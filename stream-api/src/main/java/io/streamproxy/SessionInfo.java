package io.streamproxy;

import java.net.SocketAddress;

/**
 * Describes one tunnel session to a {@link SessionListener}: a server-unique id, the protocol, the client's address
 * and the destination it asked for.
 *
 * @param id          a number unique within the server that opened the session
 * @param protocol    TCP or UDP
 * @param client      the client's remote address
 * @param destination the destination the session relays to
 */
public record SessionInfo(long id, Protocol protocol, SocketAddress client, Destination destination) {
}

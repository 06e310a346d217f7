package io.streamproxy;

import java.net.SocketAddress;

/**
 * Receives a server's session events, for metrics and audit logs. Every method has an empty default, is called on a
 * transport thread, and must return quickly and not throw (an exception is logged and ignored). For each opened
 * session exactly one {@link #sessionEnded} follows, which by default calls {@link #sessionClosed}.
 */
public interface SessionListener {

    /** A listener that ignores every event. */
    SessionListener NONE = new SessionListener() {
    };

    /**
     * A client finished its TLS or DTLS handshake and was let in (its certificate is valid, it asked for the stream
     * protocol or a route's), before its header arrives: to count handshakes and see whether clients resume. Called
     * once per accepted handshake.
     *
     * @param protocol TCP or UDP
     * @param client   the client's remote address
     * @param resumed  true if the client resumed an earlier session (a TLS 1.3 ticket, a TLS 1.2 session id or
     *                 ticket, a DTLS session id) instead of making a full handshake; false where the engine cannot
     *                 tell
     */
    default void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
    }

    /**
     * A session was accepted and its destination dialled; relaying starts now.
     *
     * @param session the session
     */
    default void sessionOpened(SessionInfo session) {
    }

    /**
     * A session that was opened has ended and its sockets are closed.
     *
     * @param session              the session
     * @param bytesToDestination   payload bytes relayed from the client to the destination
     * @param bytesFromDestination payload bytes relayed from the destination to the client
     */
    default void sessionClosed(SessionInfo session, long bytesToDestination, long bytesFromDestination) {
    }

    /**
     * A session that was opened has ended and its sockets are closed, with everything an access log records. The
     * default calls {@link #sessionClosed(SessionInfo, long, long)} with the byte counts.
     *
     * @param session the session
     * @param end     how it ended: duration, bytes and datagrams each way, which side ended first, the reason
     */
    default void sessionEnded(SessionInfo session, SessionEnd end) {
        sessionClosed(session, end.bytesToDestination(), end.bytesFromDestination());
    }

    /**
     * A connection or session was refused before relaying anything.
     *
     * @param protocol TCP or UDP
     * @param client   the client's remote address
     * @param reason   why
     * @param detail   a human-readable detail, never null
     */
    default void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
    }

    /**
     * A datagram of a UDP session was dropped instead of relayed (for example one from the destination that is over
     * the 16384-byte DTLS record limit, which is never truncated).
     *
     * @param session the session
     * @param size    the datagram's size in bytes
     * @param reason  why it was dropped
     */
    default void datagramDropped(SessionInfo session, int size, String reason) {
    }

    /**
     * A datagram from a peer that has not authenticated was dropped without an answer: a ClientHello over the
     * handshake limit of the server or of its source, a ClientHello whose cookie does not match its address, a
     * record that does not decode, or anything else that is not the start of a handshake. Called for each, from the
     * receive loop: count, do not log (an unauthenticated peer can send many).
     *
     * @param protocol UDP
     * @param source   where the datagram came from (it may be forged)
     * @param reason   one of a small fixed set of short texts, fit for a metric label
     */
    default void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
    }

    /**
     * A client sent a valid health-probe header and was closed quietly, as the protocol asks.
     *
     * @param protocol TCP or UDP
     * @param client   the client's remote address
     */
    default void healthProbe(Protocol protocol, SocketAddress client) {
    }
}

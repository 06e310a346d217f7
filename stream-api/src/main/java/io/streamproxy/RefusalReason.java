package io.streamproxy;

/**
 * Why a server refused a connection or a session before any data was relayed. The protocol has no status reply, so
 * a client only sees the connection close; the reason is reported to the server's {@link SessionListener}.
 */
public enum RefusalReason {
    /** TLS or DTLS handshake failed: no or untrusted client certificate, wrong ALPN id, protocol error. */
    HANDSHAKE_FAILED,
    /** The handshake and the header did not complete within the header timeout. */
    HEADER_TIMEOUT,
    /** The header failed validation (version, checksum, port length or size). */
    INVALID_HEADER,
    /** The header named no usable destination (empty host, port not a number in 1..65535). */
    BAD_DESTINATION,
    /** The destination policy did not allow the destination. */
    POLICY_DENIED,
    /** Dialling the destination failed or timed out. */
    DIAL_FAILED,
    /** The server is at its configured limit of sessions or handshakes. */
    CAPACITY,
    /** The client's source (an IPv4 address, an IPv6 /64) is at its limit of sessions. */
    SOURCE_LIMIT,
    /** New handshakes came faster than the server's rate limit (of the server, or of the client's source). */
    RATE_LIMITED,
    /** The server is draining: live sessions go on, new ones are not admitted. */
    DRAINING
}

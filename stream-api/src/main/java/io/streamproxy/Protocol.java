package io.streamproxy;

/**
 * The two kinds of tunnel the stream protocol carries: a byte stream over TLS ({@link #TCP}) and a datagram
 * session over DTLS 1.2 ({@link #UDP}). Transports declare which of the two they implement, and the registry uses
 * this to pick one.
 */
public enum Protocol {
    /** TCP tunnelled over TLS 1.2 or 1.3. */
    TCP,
    /** UDP tunnelled over DTLS 1.2. */
    UDP
}

package io.streamproxy.spi;

import io.streamproxy.TlsCredentials;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A started listener of one protocol, as a transport returns it. Closing it stops accepting, ends every live
 * session, and releases every socket and thread it owns before returning (within a bounded wait).
 */
public interface ServerEndpoint extends Closeable {

    /**
     * Returns the address actually bound (with the real port when port 0 was asked for).
     *
     * @return the bound address
     */
    InetSocketAddress localAddress();

    /**
     * Returns the number of live sessions (after the header, before the end).
     *
     * @return the count
     */
    int activeSessions();

    /**
     * Describes how this endpoint runs, for logs and the operator (for example {@code netty epoll, OpenSSL}).
     *
     * @return a short description
     */
    default String description() {
        return getClass().getSimpleName();
    }

    /**
     * Replaces the TLS or DTLS material: handshakes that start from now on present the new certificate and trust
     * the new CAs; sessions already past their handshake keep the material they were made with. The new material
     * is turned into a context first, so a failure leaves the old one in place.
     *
     * @param credentials the new material
     * @throws IOException if no context can be built from it (the old material stays)
     */
    default void updateCredentials(TlsCredentials credentials) throws IOException {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot change its credentials");
    }

    /**
     * Stops admitting new sessions while live ones go on: a TCP header that arrives from now on is refused with
     * {@link io.streamproxy.RefusalReason#DRAINING} (the listener still accepts, so routes such as an HTTPS health
     * check keep answering), a UDP ClientHello from a new address is dropped. Idempotent; {@link #close()} ends
     * what is left.
     */
    default void drain() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot drain");
    }

    /** Stops the listener and ends every session; idempotent, never throws. */
    @Override
    void close();
}

package io.streamproxy.spi;

import java.io.Closeable;
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

    /** Stops the listener and ends every session; idempotent, never throws. */
    @Override
    void close();
}

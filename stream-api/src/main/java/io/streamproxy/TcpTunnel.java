package io.streamproxy;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;

/**
 * An open TCP tunnel: a byte stream to the destination through the server. Closing the output with
 * {@link #shutdownOutput()} reaches the destination as end of stream while its reply keeps flowing back; end of
 * stream on {@link #input()} means the destination (or the server) finished sending. Because the protocol has no
 * status reply, a refused destination shows up as end of stream or an exception on the first read.
 */
public interface TcpTunnel extends Closeable {

    /**
     * Returns the stream of bytes from the destination.
     *
     * @return the input stream; reading blocks until data, end of stream or failure
     */
    InputStream input();

    /**
     * Returns the stream of bytes to the destination.
     *
     * @return the output stream
     */
    OutputStream output();

    /**
     * Ends the client-to-destination direction: the destination reads end of stream, the other direction stays open.
     *
     * @throws IOException if the tunnel failed
     */
    void shutdownOutput() throws IOException;

    /**
     * Bounds every later read on {@link #input()}: a read that waits longer throws
     * {@link java.net.SocketTimeoutException} and leaves the tunnel usable. Zero means no bound (the default).
     *
     * @param timeout the bound, or {@link java.time.Duration#ZERO}
     * @throws IOException if the tunnel is closed
     */
    void setReadTimeout(java.time.Duration timeout) throws IOException;

    /**
     * Returns the destination this tunnel was opened to.
     *
     * @return the destination
     */
    Destination destination();

    /**
     * Returns the local address of the connection to the server.
     *
     * @return the local socket address
     */
    SocketAddress localAddress();

    /**
     * Ends the tunnel as a failure: resets the connection to the server (SO_LINGER 0, no close_notify), which the
     * server relays to the destination as a reset, so that a transfer cut short never looks complete. A port
     * forward calls it when the local side fails. The default only closes; every transport of this project
     * overrides it, and the kit's forward cases check it.
     *
     * @throws IOException if releasing the connection fails
     */
    default void abort() throws IOException {
        close();
    }

    /**
     * Closes both directions and releases the connection; idempotent.
     */
    @Override
    void close() throws IOException;
}

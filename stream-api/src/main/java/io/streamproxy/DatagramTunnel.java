package io.streamproxy;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * An open UDP tunnel: a DTLS 1.2 session whose every record is one datagram to or from the destination, with
 * boundaries kept. Datagrams carry up to {@value #MAX_DATAGRAM} bytes each way. As with UDP, a datagram may be lost;
 * the tunnel never splits, merges or truncates one. {@link #send} and {@link #receive} may be called from different
 * threads at once.
 */
public interface DatagramTunnel extends Closeable {
    /** The largest datagram a tunnel carries: the DTLS record plaintext limit. */
    int MAX_DATAGRAM = 16384;

    /**
     * Sends one datagram to the destination.
     *
     * @param datagram the bytes from position to limit, at most {@value #MAX_DATAGRAM}; consumed
     * @throws IOException if the tunnel is closed, the datagram is too large, or sending fails
     */
    void send(ByteBuffer datagram) throws IOException;

    /**
     * Receives the next datagram from the destination into {@code into} (from its position; a datagram that does
     * not fit throws rather than truncates).
     *
     * @param into    where to put the datagram; needs room for up to {@value #MAX_DATAGRAM} bytes
     * @param timeout how long to wait
     * @return the datagram's length, or -1 when the server ended the session (close_notify)
     * @throws java.net.SocketTimeoutException if nothing arrived within the timeout (the tunnel stays usable)
     * @throws IOException                     if the session failed, or if this side closed the tunnel (a receive
     *                                         that waits meanwhile ends then too)
     */
    int receive(ByteBuffer into, Duration timeout) throws IOException;

    /**
     * Returns the destination this tunnel was opened to.
     *
     * @return the destination
     */
    Destination destination();

    /**
     * Returns the local address of the UDP socket to the server.
     *
     * @return the local address
     */
    InetSocketAddress localAddress();

    /** Sends close_notify and releases the socket; idempotent. */
    @Override
    void close() throws IOException;
}

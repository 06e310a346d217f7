package io.streamproxy.spi;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.PortForward;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A transport's UDP-over-DTLS client, bound to one {@link io.streamproxy.StreamClientOptions}; {@link #close()}
 * closes the tunnels still open.
 */
public interface UdpClientTransport extends Closeable {

    /**
     * Runs the DTLS handshake (bounded by the handshake timeout) and sends the header as its own record.
     *
     * @param destination where the server should send datagrams
     * @return the open tunnel
     * @throws IOException if the handshake fails or times out
     */
    DatagramTunnel open(Destination destination) throws IOException;

    /**
     * Runs a UDP health probe: handshake, probe header, then waits for the server's close_notify.
     *
     * @param timeout bounds the whole probe
     * @return how long it took
     * @throws HealthProbeException if it failed, classified
     */
    Duration probe(Duration timeout) throws HealthProbeException;

    /**
     * Forwards a local UDP port to destination: each local source address gets its own session, opened off the
     * receive loop (up to 64 datagrams wait for its handshake), and replies go back to that source; a flow ends when
     * neither side sent for idleTimeout. The default relays with a thread per flow over {@link #open(Destination)}.
     *
     * @param destination where the server sends every flow's datagrams
     * @param listen      the local address to listen on (port 0 picks one)
     * @param idleTimeout how long a flow may be quiet both ways, positive ({@link #checkIdleTimeout})
     * @return the running forward
     * @throws IOException if the address cannot be bound
     */
    default PortForward forward(Destination destination, InetSocketAddress listen, Duration idleTimeout)
            throws IOException {
        return new DatagramPortForward(this, destination, listen, checkIdleTimeout(idleTimeout));
    }

    /**
     * Checks the idle timeout of a UDP forward; an implementation of {@link #forward} of its own calls it first.
     *
     * @param idleTimeout the timeout asked for
     * @return idleTimeout
     * @throws IllegalArgumentException if it is zero or negative: every flow would end at its first idle check
     */
    static Duration checkIdleTimeout(Duration idleTimeout) {
        if (idleTimeout.isZero() || idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idleTimeout must be positive, was " + DurationText.of(idleTimeout));
        }
        return idleTimeout;
    }

    /**
     * Replaces the DTLS material: handshakes that start from now on (new tunnels, and the flows this client's
     * forwards open) present the new certificate and trust the new CAs; tunnels already open keep the material they
     * were made with. The new material is turned into a context first, so a failure leaves the old one in place.
     *
     * @param credentials the new material
     * @throws IOException if no context can be built from it (the old material stays)
     */
    default void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot change its credentials");
    }

    /** Closes every tunnel still open and releases shared resources; idempotent. */
    @Override
    void close();
}

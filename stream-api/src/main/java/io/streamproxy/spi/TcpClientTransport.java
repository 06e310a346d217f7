package io.streamproxy.spi;

import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.PortForward;
import io.streamproxy.TcpTunnel;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A transport's TCP-over-TLS client, bound to one {@link io.streamproxy.StreamClientOptions}. It may hold shared
 * resources (an SSL context, an event loop), released by {@link #close()}; tunnels opened from it stay usable until
 * they are closed themselves or the client is closed.
 */
public interface TcpClientTransport extends Closeable {

    /**
     * Connects, handshakes (bounded by the connect and handshake timeouts) and sends the header for destination.
     *
     * @param destination where the server should dial
     * @return the open tunnel
     * @throws IOException if the connection or handshake fails
     */
    TcpTunnel open(Destination destination) throws IOException;

    /**
     * Runs a health probe: handshake, probe header, then waits for the server's quiet close.
     *
     * @param timeout bounds the whole probe
     * @return how long the probe took
     * @throws HealthProbeException if the probe failed, classified
     */
    Duration probe(Duration timeout) throws HealthProbeException;

    /**
     * Forwards a local TCP port to destination: each accepted connection gets its own tunnel, bytes flow both ways,
     * end of stream on either side half-closes the other and a failure on either side resets both. The default
     * relays through {@link #open(Destination)}'s streams with two threads per connection; a transport with its own
     * event loops overrides it to relay without threads or copies. The forward stays usable until it is closed or
     * this client is.
     *
     * @param destination where the server dials for every connection
     * @param listen      the local address to listen on (port 0 picks one)
     * @return the running forward
     * @throws IOException if the address cannot be bound
     */
    default PortForward forward(Destination destination, InetSocketAddress listen) throws IOException {
        return new StreamPortForward(this, destination, listen);
    }

    /**
     * Replaces the TLS material: handshakes that start from now on (new tunnels, and those this client's forwards
     * open) present the new certificate and trust the new CAs; tunnels already open keep the material they were made
     * with. The new material is turned into a context first, so a failure leaves the old one in place.
     *
     * @param credentials the new material
     * @throws IOException if no context can be built from it (the old material stays)
     */
    default void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot change its credentials");
    }

    /** Releases shared resources and closes the tunnels still open; idempotent. */
    @Override
    void close();
}

package io.streamproxy.spi;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import java.io.Closeable;
import java.io.IOException;
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

    /** Closes every tunnel still open and releases shared resources; idempotent. */
    @Override
    void close();
}

package io.streamproxy.testkit;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * What the UDP-over-DTLS kits share: the kit's timeouts, an echo destination per test, servers and clients of the
 * provider under test, and helpers. Each concern has its own kit that extends this class: {@link UdpRelayKit},
 * {@link UdpHeaderValidationKit}, {@link UdpAuthenticationKit}, {@link UdpTimeoutKit}, {@link UdpResourceKit} and
 * {@link UdpOutsidePeersKit}. A transport runs them all with one small subclass of each per configuration, for
 * example {@code class JdkUdpRelayTest extends UdpRelayKit { provider() -> new JdkTransportProvider() }}. Every
 * wait is bounded.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class UdpKitBase extends ConformanceKitBase {
    /** The header timeout the kit's servers use. */
    protected static final Duration HEADER_TIMEOUT = Duration.ofMillis(1500);
    /** The bound on any single wait. */
    protected static final Duration WAIT = Duration.ofSeconds(10);

    /** An echo destination. */
    protected UdpDestination echo;

    @BeforeEach
    void startDestination() {
        echo = closeLater(UdpDestination.echo());
    }

    /**
     * Starts a UDP server of the transport on 127.0.0.1:0.
     *
     * @param customize changes to the options
     * @return the server
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer(UnaryOperator<StreamServerOptions.Builder> customize) throws IOException {
        StreamServerOptions.Builder b = serverOptions(HEADER_TIMEOUT)
                .udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return closeLater(newServer(customize.apply(b).build()));
    }

    /**
     * Starts a server with the kit's defaults.
     *
     * @return the server
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer() throws IOException {
        return startServer(b -> b);
    }

    /**
     * Creates a client of the transport.
     *
     * @param server      the server
     * @param credentials the client's credentials
     * @return the client
     */
    protected StreamClient client(StreamServer server, TlsCredentials credentials) {
        return closeLater(newClient(clientOptions(server.udpAddress(), credentials)
                .handshakeTimeout(Duration.ofSeconds(5)).build()));
    }

    /**
     * Creates a client with good credentials whose datagrams go through a relay, with {@link #WAIT} for its
     * handshakes.
     *
     * @param relay the relay in front of the server
     * @return the client
     */
    StreamClient clientThrough(DatagramLossRelay relay) {
        return closeLater(newClient(clientOptions(relay.address(), pki.clientCredentials())
                .handshakeTimeout(WAIT).build()));
    }

    /**
     * Creates a client with good credentials.
     *
     * @param server the server
     * @return the client
     */
    protected StreamClient client(StreamServer server) {
        return client(server, pki.clientCredentials());
    }

    /**
     * Receives one datagram within {@link #WAIT}.
     *
     * @param t the tunnel
     * @return the datagram, or null when the session ended
     * @throws IOException if nothing arrives in time or the tunnel fails
     */
    protected static byte[] receive(DatagramTunnel t) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
        int n = t.receive(buf, WAIT);
        if (n < 0) {
            return null;
        }
        return Arrays.copyOf(buf.array(), n);
    }
}

package io.streamproxy;

import io.streamproxy.spi.TcpClientTransport;
import io.streamproxy.spi.TransportRegistry;
import io.streamproxy.spi.UdpClientTransport;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Opens tunnels through one stream server. It picks a transport per protocol through the {@link TransportRegistry}
 * on first use and keeps it (and its TLS context) until {@link #close()}, which also closes tunnels still open.
 *
 * <pre>{@code
 * try (StreamClient client = StreamClient.create(StreamClientOptions.builder(serverAddress, credentials).build());
 *      TcpTunnel tunnel = client.openTcp("example.com", 443)) {
 *     tunnel.output().write(request);
 *     tunnel.shutdownOutput();
 *     byte[] reply = tunnel.input().readAllBytes();
 * }
 * }</pre>
 */
public final class StreamClient implements Closeable {
    private volatile StreamClientOptions options;
    private final TransportRegistry registry;
    private TcpClientTransport tcp;
    private UdpClientTransport udp;
    private boolean closed;
    private final java.util.List<PortForward> forwards = new java.util.ArrayList<>();

    private StreamClient(StreamClientOptions options, TransportRegistry registry) {
        this.options = options;
        this.registry = registry;
    }

    /**
     * Creates a client with the default registry; nothing is connected yet.
     *
     * @param options the settings
     * @return the client
     */
    public static StreamClient create(StreamClientOptions options) {
        return new StreamClient(options, TransportRegistry.getDefault());
    }

    /**
     * Creates a client with the transports of a given registry.
     *
     * @param options  the settings
     * @param registry where to find transports
     * @return the client
     */
    public static StreamClient create(StreamClientOptions options, TransportRegistry registry) {
        return new StreamClient(options, registry);
    }

    /**
     * Opens a TCP tunnel to host:port through the server.
     *
     * @param host the destination host or IP literal (IPv6 without brackets)
     * @param port the destination port
     * @return the open tunnel
     * @throws IOException if the connection or handshake fails or no transport offers TCP
     */
    public TcpTunnel openTcp(String host, int port) throws IOException {
        return openTcp(Destination.of(host, port));
    }

    /**
     * Opens a TCP tunnel to a destination through the server.
     *
     * @param destination where the server should dial
     * @return the open tunnel
     * @throws IOException if the connection or handshake fails or no transport offers TCP
     */
    public TcpTunnel openTcp(Destination destination) throws IOException {
        return tcp().open(destination);
    }

    /**
     * Forwards a local TCP port to destination through the server, as {@code stream-proxy forward} does: every
     * accepted connection gets its own tunnel, with half-close and resets passed on. It stays up until it is closed
     * or this client is.
     *
     * @param destination where the server dials for every connection
     * @param listen      the local address (port 0 picks one; {@link PortForward#address()} tells which)
     * @return the running forward
     * @throws IOException if the address cannot be bound or no transport offers TCP
     */
    public PortForward forwardTcp(Destination destination, InetSocketAddress listen) throws IOException {
        return track(tcp().forward(destination, listen));
    }

    /**
     * Forwards a local UDP port to destination through the server: every local source address gets its own DTLS
     * session, ended when neither side sent for idleTimeout.
     *
     * @param destination where the server sends every flow's datagrams
     * @param listen      the local address (port 0 picks one)
     * @param idleTimeout how long a flow may be quiet both ways, positive
     * @return the running forward
     * @throws IOException if the address cannot be bound or no transport offers UDP
     * @throws IllegalArgumentException if idleTimeout is zero or negative (it would end every flow at once)
     */
    public PortForward forwardUdp(Destination destination, InetSocketAddress listen, Duration idleTimeout)
            throws IOException {
        UdpClientTransport.checkIdleTimeout(idleTimeout); // before any transport's own forward
        return track(udp().forward(destination, listen, idleTimeout));
    }

    /**
     * Runs a TCP health probe bounded by the handshake timeout.
     *
     * @return how long the probe took
     * @throws IOException if it failed: a {@link HealthProbeException} says why, a
     *                     {@link TransportNotFoundException} that no transport offers TCP
     */
    public Duration probeTcp() throws IOException {
        return probeTcp(options.handshakeTimeout());
    }

    /**
     * Runs a TCP health probe: connect, handshake, send the probe header and wait for the server's quiet close.
     * Unlike the original agent it fails when the server rejects the client certificate after a TLS 1.3 handshake.
     *
     * @param timeout bounds the whole probe
     * @return how long the probe took
     * @throws IOException if it failed: a {@link HealthProbeException} says why, a
     *                     {@link TransportNotFoundException} that no transport offers TCP
     */
    public Duration probeTcp(Duration timeout) throws IOException {
        return tcp().probe(timeout);
    }

    /**
     * Opens a UDP tunnel to host:port through the server (DTLS 1.2 to the server's UDP port, which is
     * {@link StreamClientOptions#server()}'s port).
     *
     * @param host the destination host or IP literal (IPv6 without brackets)
     * @param port the destination port
     * @return the open tunnel
     * @throws IOException if the handshake fails or times out, or no transport offers UDP
     */
    public DatagramTunnel openUdp(String host, int port) throws IOException {
        return udp().open(Destination.of(host, port));
    }

    /**
     * Runs a UDP health probe bounded by the handshake timeout.
     *
     * @return how long the probe took
     * @throws IOException if it failed: a {@link HealthProbeException} says why
     */
    public Duration probeUdp() throws IOException {
        return probeUdp(options.handshakeTimeout());
    }

    /**
     * Runs a UDP health probe: DTLS handshake, probe header, then waits for the server's close_notify, sending the
     * header again after 0.5 s, 1 s, 2 s... without one (a lost datagram does not fail a healthy server). A rejected
     * certificate or a silent server is a failure within the timeout.
     *
     * @param timeout bounds the whole probe
     * @return how long the probe took
     * @throws IOException if it failed: a {@link HealthProbeException} says why
     */
    public Duration probeUdp(Duration timeout) throws IOException {
        return udp().probe(timeout);
    }

    /**
     * Returns the settings of this client.
     *
     * @return the options
     */
    public StreamClientOptions options() {
        return options;
    }

    /**
     * Replaces the client's certificate, key and trusted CAs (a rotated client certificate, say) without a restart:
     * tunnels opened from now on, including those this client's forwards open for new local connections, handshake
     * with the new material; tunnels already open keep theirs. Each transport in use builds its new context first,
     * so a failure leaves the old material in place everywhere.
     *
     * @param credentials the new material
     * @throws IOException if a transport cannot build a context from it (nothing changes)
     * @throws UnsupportedOperationException if a transport in use cannot change its credentials
     */
    public synchronized void updateCredentials(TlsCredentials credentials) throws IOException {
        java.util.Objects.requireNonNull(credentials, "credentials");
        StreamClientOptions before = options;
        StreamClientOptions next = before.toBuilder().credentials(credentials).build();
        if (tcp != null) {
            tcp.updateCredentials(credentials);
        }
        if (udp != null) {
            try {
                udp.updateCredentials(credentials);
            } catch (IOException | RuntimeException e) {
                if (tcp != null) {
                    tcp.updateCredentials(before.credentials()); // built before, so it builds again
                }
                throw e;
            }
        }
        options = next;
    }

    private synchronized PortForward track(PortForward f) {
        forwards.add(f);
        return f;
    }

    private synchronized TcpClientTransport tcp() throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        if (tcp == null) {
            tcp = registry.select(Protocol.TCP, options.transport()).newTcpClient(options);
        }
        return tcp;
    }

    private synchronized UdpClientTransport udp() throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        if (udp == null) {
            udp = registry.select(Protocol.UDP, options.transport()).newUdpClient(options);
        }
        return udp;
    }

    /** Closes the transports and every tunnel still open; idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        for (PortForward f : forwards) {
            f.close();
        }
        forwards.clear();
        if (tcp != null) {
            tcp.close();
        }
        if (udp != null) {
            udp.close();
        }
    }
}

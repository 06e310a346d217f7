package io.streamproxy;

import io.streamproxy.spi.ServerEndpoint;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A running stream server: TCP-over-TLS and/or UDP-over-DTLS listeners that accept tunnels, validate their header
 * and relay to the destination. {@link #start} picks a transport per protocol through the {@link TransportRegistry}
 * and binds; {@link #close()} stops accepting, ends live sessions and frees every socket and thread.
 *
 * <pre>{@code
 * try (StreamServer server = StreamServer.start(StreamServerOptions.builder(credentials)
 *         .tcp(new InetSocketAddress("127.0.0.1", 0)).build())) {
 *     System.out.println("listening on " + server.tcpAddress());
 * }
 * }</pre>
 */
public final class StreamServer implements Closeable {
    private final ServerEndpoint tcp;
    private final String tcpTransport;
    private final ServerEndpoint udp;
    private final String udpTransport;

    private StreamServer(ServerEndpoint tcp, String tcpTransport, ServerEndpoint udp, String udpTransport) {
        this.tcp = tcp;
        this.tcpTransport = tcpTransport;
        this.udp = udp;
        this.udpTransport = udpTransport;
    }

    /**
     * Starts a server with the default registry.
     *
     * @param options the settings
     * @return the running server
     * @throws IOException if no transport fits or binding fails
     */
    public static StreamServer start(StreamServerOptions options) throws IOException {
        return start(options, TransportRegistry.getDefault());
    }

    /**
     * Starts a server with the transports of a given registry.
     *
     * @param options  the settings
     * @param registry where to find transports
     * @return the running server
     * @throws IOException if no transport fits or binding fails
     */
    public static StreamServer start(StreamServerOptions options, TransportRegistry registry) throws IOException {
        TransportProvider tcpProvider = options.tcpAddress() == null ? null
                : registry.select(Protocol.TCP, options.transport());
        TransportProvider udpProvider = options.udpAddress() == null ? null
                : registry.select(Protocol.UDP, options.transport());
        ServerEndpoint tcp = tcpProvider == null ? null : tcpProvider.startTcpServer(options);
        ServerEndpoint udp = null;
        try {
            udp = udpProvider == null ? null : udpProvider.startUdpServer(options);
        } finally {
            if (udp == null && udpProvider != null && tcp != null) {
                tcp.close();
            }
        }
        return new StreamServer(tcp, tcpProvider == null ? null : tcpProvider.name(),
                udp, udpProvider == null ? null : udpProvider.name());
    }

    /**
     * Returns the bound TCP address.
     *
     * @return the address with its real port
     * @throws IllegalStateException if the server has no TCP listener
     */
    public InetSocketAddress tcpAddress() {
        if (tcp == null) {
            throw new IllegalStateException("this server has no TCP listener");
        }
        return tcp.localAddress();
    }

    /**
     * Returns the bound UDP address.
     *
     * @return the address with its real port
     * @throws IllegalStateException if the server has no UDP listener
     */
    public InetSocketAddress udpAddress() {
        if (udp == null) {
            throw new IllegalStateException("this server has no UDP listener");
        }
        return udp.localAddress();
    }

    /**
     * Returns the name of the transport serving a protocol.
     *
     * @param protocol TCP or UDP
     * @return the transport name, or null if the server does not listen for that protocol
     */
    public String transportName(Protocol protocol) {
        return protocol == Protocol.TCP ? tcpTransport : udpTransport;
    }

    /**
     * Describes how the endpoint of a protocol runs (transport, I/O model, TLS provider), for logs and operators.
     *
     * @param protocol TCP or UDP
     * @return the description, or null if the server does not listen for that protocol
     */
    public String description(Protocol protocol) {
        ServerEndpoint e = protocol == Protocol.TCP ? tcp : udp;
        return e == null ? null : (protocol == Protocol.TCP ? tcpTransport : udpTransport) + ": " + e.description();
    }

    /**
     * Returns the number of live sessions of a protocol.
     *
     * @param protocol TCP or UDP
     * @return the count, 0 when the server does not listen for that protocol
     */
    public int activeSessions(Protocol protocol) {
        ServerEndpoint e = protocol == Protocol.TCP ? tcp : udp;
        return e == null ? 0 : e.activeSessions();
    }

    /** Stops accepting, ends every live session and frees every socket and thread; idempotent. */
    @Override
    public void close() {
        if (tcp != null) {
            tcp.close();
        }
        if (udp != null) {
            udp.close();
        }
    }
}

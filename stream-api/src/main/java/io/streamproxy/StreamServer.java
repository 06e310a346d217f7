package io.streamproxy;

import io.streamproxy.spi.ServerEndpoint;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

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
    private volatile boolean draining;
    private boolean closed;

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

    /**
     * Gives the running server new TLS/DTLS material (a renewed certificate, a new CA bundle), on every protocol it
     * serves: handshakes that start from now on use it, tunnels already open keep the material they were made
     * with. Each listener builds its context before it swaps, so material that cannot become a context leaves the
     * old one in place (if the TCP listener took it and the UDP one then failed, they differ until the next
     * successful update, which the exception says).
     *
     * @param credentials the new material
     * @throws IOException if a listener cannot build a context from it; that listener keeps its old material
     */
    public void updateCredentials(TlsCredentials credentials) throws IOException {
        java.util.Objects.requireNonNull(credentials, "credentials");
        if (tcp != null) {
            tcp.updateCredentials(credentials);
        }
        if (udp != null) {
            try {
                udp.updateCredentials(credentials);
            } catch (IOException e) {
                throw new IOException((tcp != null ? "TCP took the new credentials, UDP did not: " : "")
                        + e.getMessage(), e);
            }
        }
    }

    /**
     * The first half of {@link #drain}, without the wait: when it returns, every listener refuses new tunnels and
     * drops new UDP sessions, while live ones go on; {@link #isDraining()} is true from then on. A caller that needs
     * to know the server admits nothing new before it waits elsewhere (a test, a supervisor) calls this first;
     * calling it again, or {@link #drain} after it, is harmless.
     */
    public synchronized void stopAdmitting() {
        if (draining) {
            return;
        }
        if (tcp != null) {
            tcp.drain();
        }
        if (udp != null) {
            udp.drain();
        }
        draining = true; // after the listeners: whoever sees it true knows they admit nothing new
    }

    /**
     * Drains the server: it stops admitting new tunnels and UDP sessions at once (a TCP header is refused with
     * {@link RefusalReason#DRAINING}, a UDP ClientHello from a new address is dropped; routes on the TLS port go on
     * answering), waits up to {@code timeout} for the live sessions to end by themselves, then closes the server,
     * ending what is left. {@link #close()} from another thread cuts the wait short.
     *
     * @param timeout how long live sessions may go on
     * @return true if every session ended by itself within the timeout
     * @throws InterruptedException if the waiting thread is interrupted (the server is closed all the same)
     */
    public boolean drain(Duration timeout) throws InterruptedException {
        stopAdmitting();
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            synchronized (this) {
                while (activeSessions(Protocol.TCP) + activeSessions(Protocol.UDP) > 0 && !closed) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    // sessions end on transport threads that do not signal here: look again every 20 ms
                    wait(Math.max(1, Math.min(20, left / 1_000_000L)));
                }
                return !closed || activeSessions(Protocol.TCP) + activeSessions(Protocol.UDP) == 0;
            }
        } finally {
            close();
        }
    }

    /**
     * Tells whether {@link #drain} was called.
     *
     * @return true once draining started
     */
    public boolean isDraining() {
        return draining;
    }

    /** Stops accepting, ends every live session and frees every socket and thread; idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        if (tcp != null) {
            tcp.close();
        }
        if (udp != null) {
            udp.close();
        }
    }
}

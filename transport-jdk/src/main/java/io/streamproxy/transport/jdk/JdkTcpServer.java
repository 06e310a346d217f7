package io.streamproxy.transport.jdk;

import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.spi.DurationText;
import io.streamproxy.spi.FailureRunLog;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK transport's TCP-over-TLS listener: an accept thread admits each connection through the session core
 * (the handshake limits; it stops accepting while every slot is held, so that a burst waits in the listen backlog,
 * and a connection from a source at its limit waits for one of that source's slots) and hands it to a session thread, which {@link TcpSessions} runs from the TLS handshake
 * (mutual auth, the stream ALPN id and the routes' ids) to the end of its tunnel or route.
 */
final class JdkTcpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(JdkTcpServer.class);
    /** Failed accepts, in runs: a logger of their own, so that an application can hear of the recovery alone. */
    private static final Logger ACCEPT_LOG = LoggerFactory.getLogger(JdkTcpServer.class.getName() + ".accept");

    /** The listen backlog: where a burst of clients waits while every handshake slot is held (the kernel caps it). */
    static final int BACKLOG = 4096;
    private static final long BACKOFF_MILLIS = 100;

    private final Object gate = new Object();
    private final StreamServerOptions options;
    private volatile SSLSocketFactory tls;
    private final ServerSocket listener;
    private final TcpSessions sessions;
    private final List<String> alpn;
    private final Thread acceptor;
    private final InetSocketAddress localAddress;

    JdkTcpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        this.tls = socketFactory(options.credentials());
        this.alpn = options.alpnProtocols();
        this.listener = new ServerSocket();
        try {
            listener.setReuseAddress(true);
            listener.bind(options.tcpAddress(), BACKLOG);
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + options.tcpAddress() + ": " + e.getMessage(), e);
        }
        this.localAddress = (InetSocketAddress) listener.getLocalSocketAddress();
        this.sessions = new TcpSessions(options, "stream-proxy-jdk-tcp");
        sessions.core().onCapacity(this::signalCapacity);
        this.acceptor = new NamedThreads("stream-proxy-jdk-tcp-accept").newThread(this::acceptLoop);
        acceptor.start();
        LOG.info("TCP stream server listening on {}", localAddress);
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int activeSessions() {
        return sessions.activeSessions();
    }

    @Override
    public void updateCredentials(TlsCredentials credentials) throws IOException {
        this.tls = socketFactory(credentials); // a handshake that already took the old factory keeps it
    }

    @Override
    public void drain() {
        sessions.core().drain();
    }

    private static SSLSocketFactory socketFactory(TlsCredentials credentials) throws IOException {
        try {
            return credentials.newSslContext("TLS").getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
    }

    private void acceptLoop() {
        FailureRunLog failures = new FailureRunLog(ACCEPT_LOG, "TCP stream server on " + localAddress, "accept");
        while (!sessions.isClosed()) {
            try {
                awaitCapacity();
                if (sessions.isClosed()) {
                    return;
                }
                Socket raw;
                try {
                    raw = listener.accept();
                } catch (IOException e) {
                    if (listener.isClosed() || sessions.isClosed()) {
                        return;
                    }
                    // out of descriptors (EMFILE) or the like: said once per run, backed off, no spinning
                    failures.failed(null, e.toString(), " (trying again every "
                            + DurationText.of(Duration.ofMillis(BACKOFF_MILLIS)) + ")", "", System.nanoTime());
                    backOff();
                    continue;
                }
                failures.succeeded("");
                TunnelSession tunnel = sessions.core().accept(raw.getRemoteSocketAddress(), System.nanoTime(),
                        t -> start(raw, t));
                if (tunnel == null) {
                    TcpRelay.closeQuietly(raw);
                } else if (tunnel.isWaiting()) {
                    sessions.holdWhileWaiting(tunnel, raw);
                }
            } catch (RuntimeException | Error e) {
                if (sessions.isClosed()) {
                    return;
                }
                // a bug or an OutOfMemoryError: the listener must not die of it
                LOG.error("accept loop on {} failed; it goes on", localAddress, e);
                backOff();
            }
        }
    }

    /** Waits while every handshake slot is held: new connections stay in the listen backlog instead. */
    private void awaitCapacity() {
        synchronized (gate) {
            while (sessions.core().saturated() && !sessions.isClosed()) {
                try {
                    gate.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void signalCapacity() {
        synchronized (gate) {
            gate.notifyAll();
        }
    }

    private void backOff() {
        synchronized (gate) {
            try {
                gate.wait(BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The core gave the connection a handshake slot: its handshake runs on a session thread. */
    private void start(Socket raw, TunnelSession tunnel) {
        try {
            sessions.workers().execute(() -> handshakeAndServe(raw, tunnel));
        } catch (RejectedExecutionException e) {
            tunnel.close("server closed");
            TcpRelay.closeQuietly(raw);
        }
    }

    private void handshakeAndServe(Socket raw, TunnelSession tunnel) {
        SSLSocket socket;
        try {
            raw.setTcpNoDelay(true);
            raw.setKeepAlive(true); // a client that vanishes without a FIN is found and reaped
            // not auto-closing: a refused connection is closed with a linger, so that the alert is not lost
            socket = (SSLSocket) tls.createSocket(raw, null, false);
            TlsParameters.configureServer(socket, alpn);
        } catch (IOException | RuntimeException e) {
            tunnel.failed(e.toString(), System.nanoTime());
            TcpRelay.closeQuietly(raw);
            return;
        }
        sessions.serveAccepted(tunnel, socket, raw);
    }

    @Override
    public void close() {
        if (sessions.isClosed()) {
            return;
        }
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        sessions.close();
        signalCapacity();
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("TCP stream server on {} closed", localAddress);
    }
}

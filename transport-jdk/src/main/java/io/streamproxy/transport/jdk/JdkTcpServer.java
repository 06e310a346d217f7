package io.streamproxy.transport.jdk;

import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.security.GeneralSecurityException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK transport's TCP-over-TLS listener: an accept thread hands each connection to a session thread, which runs
 * the TLS handshake (mutual auth, stream ALPN id) under the header deadline and then serves it with
 * {@link TcpSessions}.
 */
final class JdkTcpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(JdkTcpServer.class);

    private final StreamServerOptions options;
    private final SSLSocketFactory tls;
    private final ServerSocket listener;
    private final TcpSessions sessions;
    private final AtomicInteger handshakes = new AtomicInteger();
    private final Thread acceptor;
    private final InetSocketAddress localAddress;

    JdkTcpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        SSLContext context;
        try {
            context = options.credentials().newSslContext("TLS");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
        this.tls = context.getSocketFactory();
        this.listener = new ServerSocket();
        try {
            listener.setReuseAddress(true);
            listener.bind(options.tcpAddress(), 1024);
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + options.tcpAddress() + ": " + e.getMessage(), e);
        }
        this.localAddress = (InetSocketAddress) listener.getLocalSocketAddress();
        this.sessions = new TcpSessions(options, "stream-proxy-jdk-tcp");
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

    private void acceptLoop() {
        while (!sessions.isClosed()) {
            Socket raw;
            try {
                raw = listener.accept();
            } catch (IOException e) {
                if (listener.isClosed() || sessions.isClosed()) {
                    return;
                }
                LOG.warn("accept failed on {}: {}", localAddress, e.toString());
                continue;
            }
            SocketAddress client = raw.getRemoteSocketAddress();
            if (handshakes.incrementAndGet() > options.maxHandshakes()) {
                handshakes.decrementAndGet();
                TcpRelay.closeQuietly(raw);
                sessions.refused(client, RefusalReason.CAPACITY,
                        "at the limit of " + options.maxHandshakes() + " handshakes");
                continue;
            }
            try {
                sessions.workers().execute(() -> handshakeAndServe(raw, client));
            } catch (RejectedExecutionException e) {
                handshakes.decrementAndGet();
                TcpRelay.closeQuietly(raw);
            }
        }
    }

    private void handshakeAndServe(Socket raw, SocketAddress client) {
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> deadline = null;
        SSLSocket socket = null;
        boolean handshaken = false;
        try {
            if (!sessions.track(raw)) {
                return;
            }
            deadline = sessions.deadline(raw, expired);
            raw.setTcpNoDelay(true);
            // not auto-closing: a refused connection is closed with a linger, so that the alert is not lost
            socket = (SSLSocket) tls.createSocket(raw, null, false);
            TlsParameters.configureServer(socket);
            socket.startHandshake();
            handshaken = true;
        } catch (IOException | RuntimeException e) {
            if (expired.get()) {
                sessions.refused(client, RefusalReason.HEADER_TIMEOUT,
                        "no TLS handshake within " + options.headerTimeout());
            } else if (!sessions.isClosed()) {
                sessions.refused(client, RefusalReason.HANDSHAKE_FAILED, describe(e));
            }
        } finally {
            handshakes.decrementAndGet();
            if (!handshaken) {
                if (deadline != null) {
                    deadline.cancel(false);
                }
                if (socket != null) {
                    TcpRelay.closeQuietly(socket);
                }
                if (expired.get() || sessions.isClosed()) {
                    TcpRelay.closeQuietly(raw);
                } else {
                    sessions.lingerClose(raw);
                }
                sessions.untrack(raw);
            }
        }
        if (handshaken) {
            sessions.serve(socket, deadline, expired, raw);
        }
    }

    private static String describe(Exception e) {
        if (e instanceof SSLException) {
            return "TLS: " + e.getMessage();
        }
        return e.toString();
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
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("TCP stream server on {} closed", localAddress);
    }
}

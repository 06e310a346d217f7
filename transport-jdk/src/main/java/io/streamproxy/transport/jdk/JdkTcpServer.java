package io.streamproxy.transport.jdk;

import io.streamproxy.StreamServerOptions;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK transport's TCP-over-TLS listener: an accept thread admits each connection through the session core
 * (the handshake limit) and hands it to a session thread, which {@link TcpSessions} runs from the TLS handshake
 * (mutual auth, the stream ALPN id and the routes' ids) to the end of its tunnel or route.
 */
final class JdkTcpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(JdkTcpServer.class);

    private final StreamServerOptions options;
    private final SSLSocketFactory tls;
    private final ServerSocket listener;
    private final TcpSessions sessions;
    private final List<String> alpn;
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
        this.alpn = options.alpnProtocols();
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
            TunnelSession tunnel = sessions.admit(raw.getRemoteSocketAddress());
            if (tunnel == null) {
                TcpRelay.closeQuietly(raw);
                continue;
            }
            try {
                sessions.workers().execute(() -> handshakeAndServe(raw, tunnel));
            } catch (RejectedExecutionException e) {
                tunnel.close("server closed");
                TcpRelay.closeQuietly(raw);
            }
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
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("TCP stream server on {} closed", localAddress);
    }
}

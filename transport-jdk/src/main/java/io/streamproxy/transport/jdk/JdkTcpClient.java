package io.streamproxy.transport.jdk;

import io.streamproxy.internal.NamedThreads;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.protocol.HeaderCodec;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.internal.ClientSupport;
import io.streamproxy.internal.ProbeFailures;
import io.streamproxy.spi.DurationText;
import io.streamproxy.spi.TcpClientTransport;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The JDK transport's TCP-over-TLS client: connect within the connect timeout, handshake (client certificate, the
 * stream ALPN id, server name verified) within the handshake timeout, then send the header as its own write.
 */
final class JdkTcpClient implements TcpClientTransport {
    private final StreamClientOptions options;
    private volatile SSLSocketFactory tls;
    private final ScheduledThreadPoolExecutor timer;
    /** Open TLS sockets and the TCP socket under each (which a reset closes, so that no close_notify goes). */
    private final java.util.Map<SSLSocket, Socket> open = new ConcurrentHashMap<>();
    private volatile boolean closed;

    JdkTcpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.tls = socketFactory(options.credentials());
        this.timer = new ScheduledThreadPoolExecutor(1, new NamedThreads("stream-proxy-jdk-client-timer"));
        timer.setKeepAliveTime(1, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true);
        timer.setRemoveOnCancelPolicy(true);
    }

    private static SSLSocketFactory socketFactory(io.streamproxy.TlsCredentials credentials) throws IOException {
        try {
            return credentials.newSslContext("TLS").getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
    }

    @Override
    public void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        tls = socketFactory(credentials);
    }

    @Override
    public TcpTunnel open(Destination destination) throws IOException {
        byte[] header = HeaderCodec.encode(destination);
        long deadline = System.nanoTime() + options.connectTimeout().plus(options.handshakeTimeout()).toNanos();
        SSLSocket socket = connect(deadline, options.handshakeTimeout());
        try {
            OutputStream out = socket.getOutputStream();
            out.write(header);
            out.flush();
            Socket raw = open.get(socket);
            return new JdkTcpTunnel(socket, raw != null ? raw : socket, destination, () -> open.remove(socket));
        } catch (IOException | RuntimeException e) {
            close(socket);
            throw e;
        }
    }

    @Override
    public Duration probe(Duration timeout) throws HealthProbeException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        SSLSocket socket = null;
        try {
            socket = connect(deadline, timeout);
            socket.getOutputStream().write(HeaderCodec.healthProbe());
            socket.getOutputStream().flush();
            int left = remainingMillis(deadline);
            if (left <= 0) {
                throw new SocketTimeoutException("probe timeout " + DurationText.of(timeout) + " passed");
            }
            socket.setSoTimeout(left);
            int b;
            try {
                b = socket.getInputStream().read();
            } catch (IOException e) {
                throw TLS_FAILURES.classifyAnswer(e, timeout);
            }
            if (b >= 0) {
                throw new HealthProbeException(HealthProbeException.Failure.PROTOCOL_ERROR,
                        "server sent data in answer to a health probe instead of closing", null);
            }
            return Duration.ofNanos(System.nanoTime() - start);
        } catch (HealthProbeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw classify(e, timeout);
        } finally {
            if (socket != null) {
                close(socket);
            }
        }
    }

    private static final ProbeFailures TLS_FAILURES = new ProbeFailures("TLS", List.of(), List.of());

    static HealthProbeException classify(Exception e, Duration timeout) {
        return TLS_FAILURES.classify(e, timeout);
    }

    /** Connects and handshakes; the TCP connect is bounded by the connect timeout, the whole by {@code deadline}. */
    private SSLSocket connect(long deadline, Duration what) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        InetSocketAddress server = ClientSupport.resolve(options.server());
        Socket raw = new Socket();
        SSLSocket socket = null;
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> timeout = null;
        try {
            raw.setTcpNoDelay(true);
            int connectMillis = (int) Math.min(options.connectTimeout().toMillis(), remainingMillis(deadline));
            if (connectMillis <= 0) {
                throw new SocketTimeoutException("timeout " + DurationText.of(what) + " passed before connecting");
            }
            raw.connect(server, connectMillis);
            long handshakeNanos = Math.min(options.handshakeTimeout().toNanos(), deadline - System.nanoTime());
            if (handshakeNanos <= 0) {
                throw new SocketTimeoutException("timeout " + DurationText.of(what) + " passed before the handshake");
            }
            timeout = timer.schedule(() -> {
                expired.set(true);
                TcpRelay.closeQuietly(raw);
            }, handshakeNanos, TimeUnit.NANOSECONDS);
            socket = (SSLSocket) tls.createSocket(raw, options.serverName(), server.getPort(), true);
            TlsParameters.configureClient(socket, options.serverName());
            open.put(socket, raw);
            if (closed) {
                throw new IOException("client is closed");
            }
            socket.startHandshake();
            String alpn = socket.getApplicationProtocol();
            if (alpn != null && !alpn.isEmpty() && !alpn.equals(StreamProtocol.ALPN)) {
                throw new SSLHandshakeException("server negotiated ALPN '" + alpn + "', not " + StreamProtocol.ALPN);
            }
            if (!timeout.cancel(false) || expired.get()) {
                throw new HandshakeTimeoutException("TLS handshake took longer than "
                        + DurationText.of(options.handshakeTimeout()));
            }
            return socket;
        } catch (IOException | RuntimeException e) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            if (socket != null) {
                close(socket);
            } else {
                TcpRelay.closeQuietly(raw);
            }
            if (expired.get()) {
                throw new HandshakeTimeoutException("TLS handshake with " + server + " took longer than "
                        + DurationText.of(options.handshakeTimeout()));
            }
            throw e;
        }
    }

    private void close(SSLSocket socket) {
        open.remove(socket);
        TcpRelay.closeQuietly(socket);
    }

    private static int remainingMillis(long deadline) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, left));
    }

    @Override
    public void close() {
        closed = true;
        for (SSLSocket s : open.keySet()) {
            close(s);
        }
        timer.shutdownNow();
    }

    /** The handshake did not finish within its timeout. */
    static final class HandshakeTimeoutException extends SocketTimeoutException {
        private static final long serialVersionUID = 1L;

        HandshakeTimeoutException(String message) {
            super(message);
        }
    }
}

package com.example.streamproxy.nio;

import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.protocol.HeaderCodec;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.spi.DurationText;
import io.streamproxy.spi.TcpClientTransport;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;

/**
 * The sample's TCP-over-TLS client: connect within the connect timeout, handshake within the handshake timeout
 * (client certificate, only the stream ALPN id, the server name verified), then send the header as its own write.
 * A health probe then waits for the server's quiet close; a certificate the server refuses after a TLS 1.3
 * handshake shows up on that read as an alert, so the probe fails then too.
 */
final class NioTcpClient implements TcpClientTransport {
    private static final String[] TLS_VERSIONS = {"TLSv1.3", "TLSv1.2"};
    private static final List<String> CERTIFICATE_WORDS = List.of("certificate", "pkix", "unknown_ca",
            "no subject alternative", "access_denied");

    private final StreamClientOptions options;
    private volatile SSLContext tls;
    private final ScheduledThreadPoolExecutor timer;
    private final Set<TlsChannel> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    NioTcpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.tls = context(options.credentials());
        this.timer = new ScheduledThreadPoolExecutor(1, new DaemonThreads("nio-sample-client-timer"));
        timer.setKeepAliveTime(1, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true);
        timer.setRemoveOnCancelPolicy(true);
    }

    private static SSLContext context(io.streamproxy.TlsCredentials credentials) throws IOException {
        try {
            return credentials.newSslContext("TLS");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
    }

    /** New connections handshake with the new material; open ones keep theirs. */
    @Override
    public void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        tls = context(credentials);
    }

    @Override
    public TcpTunnel open(Destination destination) throws IOException {
        byte[] header = HeaderCodec.encode(destination);
        TlsChannel channel = connect(options.handshakeTimeout());
        try {
            channel.write(ByteBuffer.wrap(header));
            return new NioTcpTunnel(channel, destination, () -> open.remove(channel));
        } catch (IOException | RuntimeException e) {
            forget(channel);
            throw e;
        }
    }

    @Override
    public Duration probe(Duration timeout) throws HealthProbeException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        TlsChannel channel = null;
        try {
            channel = connect(timeout);
            channel.write(ByteBuffer.wrap(HeaderCodec.healthProbe()));
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new SocketTimeoutException("probe timeout " + DurationText.of(timeout) + " passed");
            }
            channel.setReadTimeout((int) Math.min(Integer.MAX_VALUE, left));
            int n;
            try {
                n = channel.read(ByteBuffer.allocate(1));
            } catch (IOException e) {
                // a reset with no alert before it: the server refused the probe (it drains), not a healthy close
                if (!(e instanceof SSLException)
                        && String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("connection reset")) {
                    throw new HealthProbeException(HealthProbeException.Failure.UNAVAILABLE,
                            "the server reset the connection in answer to the probe: it is draining or failed", e);
                }
                throw e;
            }
            if (n >= 0) {
                throw new HealthProbeException(HealthProbeException.Failure.PROTOCOL_ERROR,
                        "server sent data in answer to a health probe instead of closing", null);
            }
            return Duration.ofNanos(System.nanoTime() - start);
        } catch (HealthProbeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw classify(e, timeout);
        } finally {
            if (channel != null) {
                forget(channel);
            }
        }
    }

    /** Connects and handshakes; the handshake is bounded by {@code bound} and the handshake timeout. */
    private TlsChannel connect(Duration bound) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        InetSocketAddress server = options.server();
        if (server.isUnresolved()) {
            server = new InetSocketAddress(server.getHostString(), server.getPort());
            if (server.isUnresolved()) {
                throw new UnknownHostException(server.getHostString());
            }
        }
        SocketChannel raw = SocketChannel.open();
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> timeout = null;
        TlsChannel channel = null;
        try {
            raw.setOption(StandardSocketOptions.TCP_NODELAY, true);
            raw.socket().connect(server, (int) Math.max(1, Math.min(Integer.MAX_VALUE,
                    Math.min(options.connectTimeout().toMillis(), bound.toMillis()))));
            SSLEngine engine = tls.createSSLEngine(options.serverName(), server.getPort());
            engine.setUseClientMode(true);
            SSLParameters p = engine.getSSLParameters();
            p.setProtocols(TLS_VERSIONS);
            p.setApplicationProtocols(new String[] {StreamProtocol.ALPN});
            p.setEndpointIdentificationAlgorithm("HTTPS");
            if (isDnsName(options.serverName())) {
                p.setServerNames(List.of(new SNIHostName(options.serverName())));
            }
            engine.setSSLParameters(p);
            channel = new TlsChannel(raw, engine);
            open.add(channel);
            long handshakeNanos = Math.min(options.handshakeTimeout().toNanos(), bound.toNanos());
            timeout = timer.schedule(() -> {
                expired.set(true);
                closeQuietly(raw);
            }, handshakeNanos, TimeUnit.NANOSECONDS);
            channel.handshake();
            String alpn = engine.getApplicationProtocol();
            if (alpn != null && !alpn.isEmpty() && !alpn.equals(StreamProtocol.ALPN)) {
                throw new SSLHandshakeException("server negotiated ALPN '" + alpn + "', not " + StreamProtocol.ALPN);
            }
            if (!timeout.cancel(false) || expired.get()) {
                throw new SocketTimeoutException("TLS handshake took longer than "
                        + DurationText.of(options.handshakeTimeout()));
            }
            return channel;
        } catch (IOException | RuntimeException e) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            if (channel != null) {
                forget(channel);
            } else {
                closeQuietly(raw);
            }
            if (expired.get()) {
                throw new SocketTimeoutException("TLS handshake with " + server + " took longer than "
                        + DurationText.of(options.handshakeTimeout()));
            }
            throw e;
        }
    }

    /** Classifies a failed probe the way every transport does, so that monitoring can tell the causes apart. */
    static HealthProbeException classify(Throwable e, Duration timeout) {
        String what = e.getMessage() == null ? e.toString() : e.getMessage();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException) {
                return new HealthProbeException(HealthProbeException.Failure.TIMEOUT,
                        "no answer within " + DurationText.of(timeout) + ": " + what, e);
            }
            if (c instanceof ConnectException || c instanceof NoRouteToHostException
                    || c instanceof UnknownHostException) {
                return new HealthProbeException(HealthProbeException.Failure.CONNECTION_REFUSED,
                        "cannot connect: " + what, e);
            }
            if (c instanceof CertificateException) {
                return new HealthProbeException(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                        "certificate refused: " + c.getMessage(), e);
            }
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT);
            if (CERTIFICATE_WORDS.stream().anyMatch(m::contains)) {
                return new HealthProbeException(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                        "certificate refused: " + c.getMessage(), e);
            }
        }
        return new HealthProbeException(HealthProbeException.Failure.HANDSHAKE_FAILED, "TLS failed: " + what, e);
    }

    private static boolean isDnsName(String name) {
        if (name.indexOf(':') >= 0) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= '0' && c <= '9') && c != '.') {
                return true;
            }
        }
        return false;
    }

    private void forget(TlsChannel channel) {
        open.remove(channel);
        channel.close();
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        for (TlsChannel c : open) {
            forget(c);
        }
        timer.shutdownNow();
    }
}

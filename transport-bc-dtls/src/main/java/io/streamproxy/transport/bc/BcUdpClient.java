package io.streamproxy.transport.bc;

import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.internal.ClientSupport;
import io.streamproxy.internal.UdpClientTemplate;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.tls.DTLSClientProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.TlsTimeoutException;

/** The {@code bc} transport's UDP-over-DTLS client: the handshake runs on the caller's thread, bounded. */
final class BcUdpClient extends UdpClientTemplate {
    private final StreamClientOptions options;
    private final BcTls tls;
    private final Set<BcDatagramTunnel> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    BcUdpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.tls = new BcTls(options.credentials());
    }



    @Override
    protected Duration handshakeTimeout() {
        return options.handshakeTimeout();
    }

    @Override
    protected HealthProbeException classify(Exception failure, Duration timeout) {
        return classifyException(failure, timeout);
    }

    @Override
    protected BcDatagramTunnel connect(Duration timeout) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        InetSocketAddress server = ClientSupport.resolve(options.server());
        BcClientTransport transport = new BcClientTransport(server, options.dtlsMtu());
        BcDtlsClientPeer peer = new BcDtlsClientPeer(tls, options.serverName(), timeout);
        DTLSTransport dtls;
        try {
            dtls = new DTLSClientProtocol().connect(peer, transport);
        } catch (TlsTimeoutException e) {
            transport.close();
            SocketTimeoutException t = new SocketTimeoutException("DTLS handshake with " + server
                    + " took longer than " + timeout);
            t.initCause(e);
            throw t;
        } catch (IOException | RuntimeException e) {
            transport.close();
            String alert = peer.alertSummary();
            if (alert != null && e instanceof IOException) {
                throw new IOException("DTLS handshake with " + server + " failed: " + alert, e);
            }
            throw e;
        }
        BcDatagramTunnel[] holder = new BcDatagramTunnel[1];
        BcDatagramTunnel t = new BcDatagramTunnel(dtls, peer, transport, () -> open.remove(holder[0]));
        holder[0] = t;
        open.add(t);
        if (closed) {
            t.close();
            throw new IOException("client is closed");
        }
        return t;
    }

    static HealthProbeException classifyException(Exception e, Duration timeout) {
        String what = e.getMessage() == null ? e.toString() : e.getMessage();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException || c instanceof TlsTimeoutException) {
                return new HealthProbeException(HealthProbeException.Failure.TIMEOUT,
                        "no answer within " + timeout + ": " + what, e);
            }
            if (c instanceof ConnectException || c instanceof UnknownHostException) {
                return new HealthProbeException(HealthProbeException.Failure.CONNECTION_REFUSED,
                        "cannot reach the server: " + what, e);
            }
        }
        String m = what.toLowerCase(Locale.ROOT);
        if (e instanceof TlsFatalAlertReceived || e instanceof TlsFatalAlert || m.contains("certificate")
                || m.contains("unknown_ca")) {
            if (m.contains("certificate") || m.contains("unknown_ca") || m.contains("handshake_failure")) {
                return new HealthProbeException(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                        "certificate refused: " + what, e);
            }
        }
        return new HealthProbeException(HealthProbeException.Failure.HANDSHAKE_FAILED, "DTLS failed: " + what, e);
    }

    @Override
    public void close() {
        closed = true;
        for (BcDatagramTunnel t : open) {
            t.close();
        }
    }
}

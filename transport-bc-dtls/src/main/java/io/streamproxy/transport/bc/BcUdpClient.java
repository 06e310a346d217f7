package io.streamproxy.transport.bc;

import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.internal.ClientSupport;
import io.streamproxy.internal.ProbeFailures;
import io.streamproxy.internal.UdpClientTemplate;
import io.streamproxy.spi.DurationText;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.tls.DTLSClientProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.TlsTimeoutException;

/** The {@code bc} transport's UDP-over-DTLS client: the handshake runs on the caller's thread, bounded. */
final class BcUdpClient extends UdpClientTemplate {
    private final StreamClientOptions options;
    private volatile BcTls tls;
    private final Set<BcDatagramTunnel> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    BcUdpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.tls = new BcTls(options.credentials());
    }

    @Override
    public void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        tls = new BcTls(credentials);
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
                    + " took longer than " + DurationText.of(timeout));
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
        transport.established();
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

    /** Bouncy Castle reports a refused client certificate as a handshake_failure alert. */
    private static final ProbeFailures DTLS_FAILURES = new ProbeFailures("DTLS",
            List.of(org.bouncycastle.tls.TlsTimeoutException.class), List.of("handshake_failure"));

    static HealthProbeException classifyException(Exception e, Duration timeout) {
        return DTLS_FAILURES.classify(e, timeout);
    }

    @Override
    public void close() {
        closed = true;
        for (BcDatagramTunnel t : open) {
            t.close();
        }
    }
}

package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.streamproxy.TlsCredentials;
import io.streamproxy.protocol.StreamProtocol;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;

/** Netty TLS contexts for both ends: TLS 1.3 and 1.2, the stream ALPN id, mutual authentication. */
final class TlsContexts {
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private TlsContexts() {
    }

    static SslContext server(TlsCredentials c, SslProvider provider, List<String> alpn) throws IOException {
        try {
            return SslContextBuilder.forServer(c.privateKey(), c.certificateChain().toArray(new X509Certificate[0]))
                    .trustManager(trustManager(c, provider))
                    .clientAuth(ClientAuth.REQUIRE)
                    .protocols(PROTOCOLS)
                    .sslProvider(provider)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            provider == SslProvider.JDK ? ApplicationProtocolConfig.SelectorFailureBehavior.FATAL_ALERT
                                    : ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn))
                    .build();
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
    }

    /** The credentials' trust manager; on OpenSSL, refusing with the alert that says why. */
    private static javax.net.ssl.X509ExtendedTrustManager trustManager(TlsCredentials c, SslProvider provider)
            throws GeneralSecurityException {
        return provider == SslProvider.JDK ? c.trustManager() : new OpenSslTrustAlerts(c.trustManager());
    }

    /**
     * A TLS handler on {@code ctx}; on OpenSSL its engine is a {@link HalfCloseSslEngine}, so a received close_notify
     * ends only the inbound direction. {@code peerHost} is null on the server side.
     */
    static SslHandler newHandler(SslContext ctx, ByteBufAllocator alloc, String peerHost, int peerPort) {
        SSLEngine engine = peerHost == null ? ctx.newEngine(alloc) : ctx.newEngine(alloc, peerHost, peerPort);
        if (engine instanceof ReferenceCountedOpenSslEngine) {
            engine = new HalfCloseSslEngine((ReferenceCountedOpenSslEngine) engine, alloc);
        }
        return new SslHandler(engine);
    }

    /**
     * Whether the finished handshake resumed an earlier session: BoringSSL says so itself; for the JDK's engine, the
     * session is older than {@code startedMillis} (the wall clock before the handshake, {@code Long.MIN_VALUE} if
     * unknown, which reads as not resumed).
     */
    static boolean resumed(SSLEngine engine, long startedMillis) {
        if (engine instanceof HalfCloseSslEngine) {
            return ((HalfCloseSslEngine) engine).sessionReused();
        }
        return io.streamproxy.protocol.TunnelSession.resumedBefore(engine.getSession(), startedMillis);
    }

    /** The ALPN id the handshake chose, or null; for every engine {@link #newHandler} makes. */
    static String applicationProtocol(SslHandler ssl) {
        String id = ssl.engine().getApplicationProtocol();
        return id == null || id.isEmpty() ? null : id;
    }

    static SslContext client(TlsCredentials c, SslProvider provider) throws IOException {
        try {
            return SslContextBuilder.forClient()
                    .keyManager(c.privateKey(), c.certificateChain().toArray(new X509Certificate[0]))
                    .trustManager(trustManager(c, provider))
                    .protocols(PROTOCOLS)
                    .sslProvider(provider)
                    .endpointIdentificationAlgorithm("HTTPS")
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, StreamProtocol.ALPN))
                    .build();
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
    }
}

package io.streamproxy.transport.bc;

import java.io.IOException;
import java.time.Duration;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsUtils;

/**
 * The server side of one DTLS session on Bouncy Castle: presents the server certificate, requires a client
 * certificate and validates its chain itself, and remembers a received close_notify (Bouncy Castle does not wake a
 * waiting receive for it).
 */
final class BcDtlsServerPeer extends DefaultTlsServer {
    private volatile String peerSubject;
    private volatile io.streamproxy.ClientIdentity peerIdentity;
    private final BcTls tls;
    private final int handshakeTimeoutMillis;
    private final BcAlerts alerts = new BcAlerts();

    BcDtlsServerPeer(BcTls tls, Duration handshakeTimeout) {
        super(tls.crypto);
        this.tls = tls;
        this.handshakeTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, handshakeTimeout.toMillis());
    }

    boolean closeNotifyReceived() {
        return alerts.closeNotifyReceived();
    }

    /** @return the last fatal alert raised or received, or null */
    String alertSummary() {
        return alerts.lastFatal();
    }

    @Override
    protected ProtocolVersion[] getSupportedVersions() {
        return BcTls.VERSIONS;
    }

    @Override
    protected int[] getSupportedCipherSuites() {
        return TlsUtils.getSupportedCipherSuites(getCrypto(), BcTls.CIPHER_SUITES);
    }

    @Override
    public int getHandshakeTimeoutMillis() {
        return handshakeTimeoutMillis;
    }

    @Override
    protected TlsCredentialedSigner getECDSASignerCredentials() {
        return tls.isRsa() ? null : tls.signer(context);
    }

    @Override
    protected TlsCredentialedSigner getRSASignerCredentials() {
        return tls.isRsa() ? tls.signer(context) : null;
    }

    @Override
    public CertificateRequest getCertificateRequest() {
        return new CertificateRequest(new short[] {ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign},
                TlsUtils.getDefaultSupportedSignatureAlgorithms(context), tls.authorities());
    }

    @Override
    public void notifyClientCertificate(Certificate clientCertificate) throws IOException {
        java.util.List<java.security.cert.X509Certificate> chain = tls.validate(clientCertificate, false, null);
        peerSubject = chain.isEmpty() ? null : chain.get(0).getSubjectX500Principal().getName();
        peerIdentity = chain.isEmpty() ? null : io.streamproxy.ClientIdentity.of(chain.get(0));
    }

    /**
     * Returns the fewest bytes a protected record carries with the negotiated cipher (explicit nonce or IV plus the
     * tag or MAC): shorter ones are forged and are dropped before Bouncy Castle, which would answer them with a
     * fatal decode_error.
     *
     * @return the size in bytes; 16 before the handshake has chosen a cipher
     */
    int minProtectedRecord() {
        org.bouncycastle.tls.SecurityParameters p = context == null ? null : context.getSecurityParametersConnection();
        if (p == null) {
            return 16;
        }
        switch (p.getCipherSuite()) {
            case org.bouncycastle.tls.CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
            case org.bouncycastle.tls.CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
            case org.bouncycastle.tls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
            case org.bouncycastle.tls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
                return 8 + 16; // explicit nonce and tag
            case org.bouncycastle.tls.CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:
                return 16 + 32; // IV and HMAC-SHA256
            default:
                break; // ChaCha20-Poly1305: the tag alone
        }
        return 16;
    }

    /** @return the validated client certificate's subject, or null before the handshake validated one */
    String peerSubject() {
        return peerSubject;
    }

    @Override
    public void notifyAlertReceived(short level, short description) {
        alerts.received(level, description, "received fatal alert: ");
    }

    @Override
    public void notifyAlertRaised(short level, short description, String message, Throwable cause) {
        alerts.raised(level, description, message, cause);
    }

    /** @return who the client is, once its certificate was validated; else null */
    io.streamproxy.ClientIdentity peerIdentity() {
        return peerIdentity;
    }
}

package io.streamproxy.transport.bc;

import java.io.IOException;
import java.time.Duration;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.ClientCertificateType;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one DTLS session on Bouncy Castle: presents the server certificate, requires a client
 * certificate and validates its chain itself, and remembers a received close_notify (Bouncy Castle does not wake a
 * waiting receive for it).
 */
final class BcDtlsServerPeer extends DefaultTlsServer {
    private static final Logger LOG = LoggerFactory.getLogger(BcDtlsServerPeer.class);

    private final BcTls tls;
    private final int handshakeTimeoutMillis;
    private volatile boolean closeNotifyReceived;
    private volatile String alertSummary;

    BcDtlsServerPeer(BcTls tls, Duration handshakeTimeout) {
        super(tls.crypto);
        this.tls = tls;
        this.handshakeTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, handshakeTimeout.toMillis());
    }

    boolean closeNotifyReceived() {
        return closeNotifyReceived;
    }

    /** @return the last fatal alert raised or received, for the refusal detail */
    String alertSummary() {
        return alertSummary;
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
        tls.validate(clientCertificate, false, null);
    }

    @Override
    public void notifyAlertReceived(short level, short description) {
        if (description == AlertDescription.close_notify) {
            closeNotifyReceived = true;
        } else if (level == AlertLevel.fatal) {
            alertSummary = "received " + AlertDescription.getText(description);
        }
    }

    @Override
    public void notifyAlertRaised(short level, short description, String message, Throwable cause) {
        if (level == AlertLevel.fatal) {
            alertSummary = AlertDescription.getText(description) + (message != null ? ": " + message : "")
                    + (cause != null && cause.getMessage() != null ? " (" + cause.getMessage() + ")" : "");
            LOG.debug("DTLS alert raised: {}", alertSummary);
        }
    }
}

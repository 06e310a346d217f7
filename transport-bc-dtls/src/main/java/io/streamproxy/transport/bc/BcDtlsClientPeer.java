package io.streamproxy.transport.bc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Vector;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.NameType;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerName;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsUtils;

/**
 * The client side of one DTLS session on Bouncy Castle: offers the EC suites, sends SNI, validates the server chain
 * and name itself, presents the client certificate, and remembers a received close_notify.
 */
final class BcDtlsClientPeer extends DefaultTlsClient {
    private final BcTls tls;
    private final String serverName;
    private final int handshakeTimeoutMillis;
    private final BcAlerts alerts = new BcAlerts();

    BcDtlsClientPeer(BcTls tls, String serverName, Duration handshakeTimeout) {
        super(tls.crypto);
        this.tls = tls;
        this.serverName = serverName;
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
    protected Vector<ServerName> getSNIServerNames() {
        if (BcTls.isIpLiteral(serverName)) {
            return null;
        }
        Vector<ServerName> names = new Vector<>();
        names.add(new ServerName(NameType.host_name, serverName.getBytes(StandardCharsets.US_ASCII)));
        return names;
    }

    @Override
    public TlsAuthentication getAuthentication() {
        return new TlsAuthentication() {
            @Override
            public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                tls.validate(serverCertificate.getCertificate(), true, serverName);
            }

            @Override
            public TlsCredentials getClientCredentials(CertificateRequest request) {
                return tls.signer(context);
            }
        };
    }

    @Override
    public void notifyAlertReceived(short level, short description) {
        alerts.received(level, description, "received fatal alert: ");
    }

    @Override
    public void notifyAlertRaised(short level, short description, String message, Throwable cause) {
        alerts.raised(level, description, message, cause);
    }
}

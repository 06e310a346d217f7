package io.streamproxy.transport.netty;

import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.internal.tcnative.CertificateVerifier;
import io.streamproxy.CertificateRefusedException;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust manager as BoringSSL's engine sees it: a refused chain is reported with the verify error that makes
 * BoringSSL send the alert Go's crypto/tls sends for the same refusal, by the refusal's
 * {@link CertificateRefusedException#reason()} (unknown_ca when the chain reaches no trusted CA, certificate_expired
 * outside its dates, certificate_revoked, bad_certificate for anything else), not Netty's unspecified error, which
 * BoringSSL turns into internal_error: a peer told "internal error" looks for a fault in the server, not in its own
 * certificate. The message and the refusal are kept as the cause.
 */
final class OpenSslTrustAlerts extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager trust;

    OpenSslTrustAlerts(X509ExtendedTrustManager trust) {
        this.trust = trust;
    }

    /** One of the delegate's checks. */
    private interface Check {
        void run() throws CertificateException;
    }

    private static void check(Check c) throws CertificateException {
        try {
            c.run();
        } catch (OpenSslCertificateException e) {
            throw e;
        } catch (CertificateException e) {
            throw new OpenSslCertificateException(e.getMessage(), e, verifyError(e));
        }
    }

    /** The verify error for a refusal, by its reason. */
    static int verifyError(CertificateException e) {
        if (!(e instanceof CertificateRefusedException)) {
            return CertificateVerifier.X509_V_ERR_CERT_REJECTED;
        }
        switch (((CertificateRefusedException) e).reason()) {
            case UNTRUSTED_ISSUER:
                return CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
            case OUTSIDE_VALIDITY:
                return CertificateVerifier.X509_V_ERR_CERT_HAS_EXPIRED;
            case REVOKED:
                return CertificateVerifier.X509_V_ERR_CERT_REVOKED;
            default:
                return CertificateVerifier.X509_V_ERR_CERT_REJECTED;
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(() -> trust.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(() -> trust.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(() -> trust.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(() -> trust.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(() -> trust.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(() -> trust.checkServerTrusted(chain, authType));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return trust.getAcceptedIssuers();
    }
}

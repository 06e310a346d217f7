package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class HandshakeFailuresTest {
    @Test
    void theReceivedAlert_inTheJdksBoringSslsAndBouncyCastlesWords() {
        assertThat(HandshakeFailures.receivedAlert(new SSLHandshakeException("Received fatal alert: unknown_ca")))
                .isEqualTo("unknown_ca");
        assertThat(HandshakeFailures.receivedAlert(new IOException("wrapped", new SSLException(
                "error:10000415:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED"))))
                .isEqualTo("certificate_expired");
        assertThat(HandshakeFailures.receivedAlert(new IOException("received fatal alert: bad_certificate(42)")))
                .isEqualTo("bad_certificate");
        assertThat(HandshakeFailures.receivedAlert(new SSLException("no cipher suites in common"))).isNull();
        assertThat(HandshakeFailures.isCertificateAlert("certificate_required")).isTrue();
        assertThat(HandshakeFailures.isCertificateAlert("internal_error")).isFalse();
    }

    @Test
    void aServersReason_prefersTheRefusedCertificatesOwnWords() {
        SSLHandshakeException openSsl = new SSLHandshakeException("General OpenSslEngine problem");
        openSsl.initCause(new CertificateException("client certificate \"CN=x\" issued by \"CN=y\" refused: ..."));
        assertThat(HandshakeFailures.serverReason(openSsl)).startsWith("client certificate \"CN=x\"");
    }

    @Test
    void aServersReason_saysWhenTheClientRefusedTheServersCertificate_orSentNone() {
        assertThat(HandshakeFailures.serverReason(new SSLException(
                "error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA")))
                .startsWith("the client refused this server's certificate with alert unknown_ca");
        assertThat(HandshakeFailures.serverReason(new SSLException(
                "error:100000c0:SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE")))
                .startsWith("the client sent no certificate");
        assertThat(HandshakeFailures.serverReason(new SSLHandshakeException("Empty client certificate chain")))
                .startsWith("the client sent no certificate");
        assertThat(HandshakeFailures.serverReason(new SSLException("Received fatal alert: protocol_version")))
                .startsWith("the client sent alert protocol_version");
        assertThat(HandshakeFailures.serverReason(new SSLException("no cipher suites in common")))
                .isEqualTo("no cipher suites in common");
    }
}

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
    void aDrainingServersUserCanceled_isNamed_inTheJdksQuirkyWordsAndBouncyCastles() {
        // the JDK's engine reads a fatal user_canceled as "Received fatal close_notify alert"
        SSLException jdk = new SSLException("Received fatal close_notify alert");
        assertThat(HandshakeFailures.receivedAlert(jdk)).isEqualTo("user_canceled");
        assertThat(HandshakeFailures.receivedAlert(new IOException("received fatal alert: user_canceled(90)")))
                .isEqualTo("user_canceled");
        assertThat(HandshakeFailures.wordedRefusal(jdk)).isInstanceOf(SSLException.class).hasCause(jdk)
                .hasMessageStartingWith("server draining: the server canceled the handshake with alert "
                        + "user_canceled: it is draining");
        assertThat(HandshakeFailures.drainingServer(new SSLException("Received fatal alert: internal_error")))
                .isNull();
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

    @Test
    void aRefusal_isWordedOnce_keepingItsKindAndCause_andOtherFailuresStayAsTheyAre() {
        SSLHandshakeException handshake = new SSLHandshakeException("Received fatal alert: unknown_ca");
        IOException worded = HandshakeFailures.wordedRefusal(handshake);
        assertThat(worded).isInstanceOf(SSLHandshakeException.class).hasCause(handshake).hasMessage(
                "certificate refused: the server answered with alert unknown_ca: it does not trust the CA that issued "
                        + "this client's certificate (Received fatal alert: unknown_ca)");
        assertThat(HandshakeFailures.wordedRefusal(worded)).as("worded already").isSameAs(worded);
        SSLException read = new SSLException("(certificate_unknown) Received fatal alert: certificate_unknown");
        assertThat(HandshakeFailures.wordedRefusal(read)).isExactlyInstanceOf(SSLException.class)
                .hasMessageStartingWith("certificate refused: the server answered with alert certificate_unknown: ");
        SSLException other = new SSLException("Received fatal alert: decrypt_error");
        assertThat(HandshakeFailures.wordedRefusal(other)).as("not a certificate alert").isSameAs(other);
        IOException reset = new java.net.SocketException("Connection reset");
        assertThat(HandshakeFailures.wordedRefusal(reset)).isSameAs(reset);
    }
}

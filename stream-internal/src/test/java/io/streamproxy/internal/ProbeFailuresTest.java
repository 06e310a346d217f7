package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.HealthProbeException.Failure;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class ProbeFailuresTest {
    private static final class LibraryTimeout extends IOException {
        LibraryTimeout() {
            super("handshake timed out");
        }
    }

    private final ProbeFailures failures = new ProbeFailures("TLS", List.of(LibraryTimeout.class),
            List.of("handshake_failure"));
    private final Duration timeout = Duration.ofSeconds(3);

    private Failure of(Exception e) {
        return failures.classify(e, timeout).failure();
    }

    @Test
    void timeouts_anywhereInTheChain() {
        assertThat(of(new SocketTimeoutException("read timed out"))).isEqualTo(Failure.TIMEOUT);
        assertThat(of(new IOException("wrapped", new LibraryTimeout()))).isEqualTo(Failure.TIMEOUT);
    }

    @Test
    void refusedConnections_andUnknownHosts() {
        assertThat(of(new ConnectException("Connection refused"))).isEqualTo(Failure.CONNECTION_REFUSED);
        assertThat(of(new UnknownHostException("nx"))).isEqualTo(Failure.CONNECTION_REFUSED);
    }

    @Test
    void certificateProblems_byTypeOrByAlert() {
        SSLHandshakeException openSsl = new SSLHandshakeException("General OpenSslEngine problem");
        openSsl.initCause(new CertificateException("no name matches"));
        assertThat(of(openSsl)).isEqualTo(Failure.CERTIFICATE_REFUSED);
        assertThat(of(new SSLHandshakeException("Received fatal alert: bad_certificate")))
                .isEqualTo(Failure.CERTIFICATE_REFUSED);
        assertThat(of(new IOException("received fatal alert handshake_failure")))
                .isEqualTo(Failure.CERTIFICATE_REFUSED);
    }

    @Test
    void aCertificateAlertFromTheServer_isExplained_inTheJdksAndBoringSslsWords() {
        var jdk = failures.classify(new SSLHandshakeException("Received fatal alert: unknown_ca"), timeout);
        assertThat(jdk.failure()).isEqualTo(Failure.CERTIFICATE_REFUSED);
        assertThat(jdk.getMessage()).startsWith("certificate refused: the server answered with alert unknown_ca: "
                + "it does not trust the CA that issued this client's certificate");
        var boring = failures.classify(new IOException("TLS failed", new javax.net.ssl.SSLException(
                "TLS: error:10000415:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED")), timeout);
        assertThat(boring.failure()).isEqualTo(Failure.CERTIFICATE_REFUSED);
        assertThat(boring.getMessage()).contains("alert certificate_expired: this client's certificate is expired");
        var internal = failures.classify(new javax.net.ssl.SSLException(
                "TLS: error:10000438:SSL routines:OPENSSL_internal:TLSV1_ALERT_INTERNAL_ERROR"), timeout);
        assertThat(internal.failure()).as("an alert that says nothing of certificates")
                .isEqualTo(Failure.HANDSHAKE_FAILED);
    }

    @Test
    void aDrainingServer_isUnavailable_byItsUserCanceled_orByAResetInAnswerToTheProbe() {
        var alert = failures.classify(new SSLException("Received fatal close_notify alert"), timeout);
        assertThat(alert.failure()).isEqualTo(Failure.UNAVAILABLE);
        assertThat(alert.getMessage()).contains("draining");
        var reset = failures.classifyAnswer(new java.net.SocketException("Connection reset"), timeout);
        assertThat(reset.failure()).isEqualTo(Failure.UNAVAILABLE);
        assertThat(failures.classify(new java.net.SocketException("Connection reset"), timeout).failure())
                .as("a reset during the handshake is not an answer to the probe").isEqualTo(Failure.HANDSHAKE_FAILED);
        assertThat(failures.classifyAnswer(new SSLException("Received fatal alert: unknown_ca"), timeout).failure())
                .as("an alert before the reset").isEqualTo(Failure.CERTIFICATE_REFUSED);
    }

    @Test
    void anythingElse_isAHandshakeFailure_namingTheProtocol() {
        var e = failures.classify(new SSLHandshakeException("no cipher suites in common"), timeout);
        assertThat(e.failure()).isEqualTo(Failure.HANDSHAKE_FAILED);
        assertThat(e.getMessage()).startsWith("TLS failed: ");
    }
}

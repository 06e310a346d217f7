package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.TlsCredentials;
import io.streamproxy.testkit.TestPki;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ServerHealthTest {
    private final TestPki pki = TestPki.shared();

    @Test
    void aCertificateOutsideItsDates_isAProblem_untilGoodMaterialComes() throws Exception {
        TestPki.PemFiles ending = pki.clientValidUntil(Instant.now().plus(Duration.ofMinutes(10)));
        ServerHealth health = new ServerHealth(TlsCredentials.fromPem(pki.caFile(), ending.certificate(),
                ending.key()));
        assertThat(health.problem(Instant.now())).as("within its dates").isNull();
        assertThat(health.problem(Instant.now().plus(Duration.ofMinutes(20)))).as("past its end")
                .contains("expired on").endsWith(": clients refuse this server's certificate");
        assertThat(health.problem(Instant.EPOCH)).as("before its start").contains("is not valid before");
        health.certificatesInUse(pki.serverCredentials());
        assertThat(health.problem(Instant.now().plus(Duration.ofMinutes(20)))).as("after a reload").isNull();
    }

    @Test
    void draining_isAProblem() {
        ServerHealth health = new ServerHealth(pki.serverCredentials());
        health.draining();
        assertThat(health.problem(Instant.now())).isEqualTo("draining");
    }
}

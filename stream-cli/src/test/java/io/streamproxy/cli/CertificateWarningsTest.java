package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.TlsCredentials;
import io.streamproxy.pki.CertificateGenerator;
import io.streamproxy.pki.CertificateGenerator.Issued;
import io.streamproxy.pki.CertificateGenerator.Usage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CertificateWarningsTest {
    private static final Instant NOW = Instant.now();
    private static Issued ca;

    @BeforeAll
    static void pki() throws Exception {
        ca = CertificateGenerator.ca("CN=warnings CA", NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(400)));
    }

    private static TlsCredentials with(Issued trusted, Issued leaf) {
        return TlsCredentials.of(List.of(trusted.certificate()), List.of(leaf.certificate()), leaf.key());
    }

    private static Issued leaf(String subject, Duration validFor, Usage usage, List<String> names) throws Exception {
        return CertificateGenerator.leaf(ca, subject, NOW.minus(Duration.ofDays(1)), NOW.plus(validFor), usage,
                names);
    }

    @Test
    void whatStreamProxyCertsWrites_getsNoWarning() throws Exception {
        assertThat(CertificateWarnings.of(with(ca, leaf("CN=godoxy.agent", Duration.ofDays(300), Usage.SERVER,
                List.of("godoxy.agent", "127.0.0.1"))), "server", NOW)).isEmpty();
        assertThat(CertificateWarnings.of(with(ca, leaf("CN=client", Duration.ofDays(300), Usage.CLIENT,
                List.of())), "client", NOW)).isEmpty();
    }

    @Test
    void aServerCertificate_peersWouldRefuse_isSaidAtOnce() throws Exception {
        List<String> w = CertificateWarnings.of(with(ca, leaf("CN=other.name", Duration.ofDays(300), Usage.CLIENT,
                List.of("other.name"))), "server", NOW);
        assertThat(w).hasSize(2);
        assertThat(w.get(0)).contains("CN=other.name does not allow TLS server authentication");
        assertThat(w.get(1)).contains("does not name godoxy.agent");
    }

    @Test
    void aClientCertificateForServersOnly_isSaid() throws Exception {
        assertThat(CertificateWarnings.of(with(ca, leaf("CN=client", Duration.ofDays(300), Usage.SERVER,
                List.of("godoxy.agent"))), "client", NOW))
                .singleElement().asString().contains("does not allow TLS client authentication");
    }

    @Test
    void soonExpiring_andTrustedLeaves_areSaid() throws Exception {
        Issued notACa = leaf("CN=some client", Duration.ofDays(300), Usage.CLIENT, List.of());
        List<String> w = CertificateWarnings.of(with(notACa, leaf("CN=godoxy.agent", Duration.ofDays(3),
                Usage.SERVER, List.of("godoxy.agent"))), "server", NOW);
        assertThat(w).hasSize(2);
        assertThat(w.get(0)).startsWith("certificate CN=godoxy.agent").contains("expires on");
        assertThat(w.get(1)).contains("CN=some client is not a CA certificate");
    }
}

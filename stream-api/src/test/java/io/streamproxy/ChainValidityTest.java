package io.streamproxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ChainValidityTest {
    private static KeyPair caKeys;
    private static X509Certificate ca;

    @BeforeAll
    static void pki() throws Exception {
        caKeys = TestCertificates.keys();
        ca = TestCertificates.certificate("CN=dates ca", caKeys.getPublic(), "CN=dates ca", caKeys.getPrivate(), true,
                1, Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(10)));
    }

    @Test
    void chainWithinItsDates_isFine_andOneOutsideThem_namesTheCertificateAndItsDates() throws Exception {
        X509Certificate leaf = TestCertificates.client(caKeys.getPrivate(), 20, Instant.now().plus(Duration.ofDays(2)));
        Certificate[] chain = {leaf, ca};
        long now = System.currentTimeMillis();
        assertThat(ChainValidity.outsideDates(chain, now)).isNull();
        long later = now + Duration.ofDays(3).toMillis();
        assertThat(ChainValidity.outsideDates(chain, later)).as("the same chain, remembered, three days on")
                .contains(leaf.getSubjectX500Principal().getName()).contains(leaf.getNotAfter().toInstant().toString())
                .endsWith("not now");
        long afterTheCa = now + Duration.ofDays(11).toMillis();
        X509Certificate longLeaf = TestCertificates.client(caKeys.getPrivate(), 21,
                Instant.now().plus(Duration.ofDays(30)));
        assertThat(ChainValidity.outsideDates(new Certificate[] {longLeaf, ca}, afterTheCa))
                .as("a leaf still valid under a CA that is not").contains("CN=dates ca");
    }

    @Test
    void noChain_orNoX509Certificate_hasNothingToJudge() {
        assertThat(ChainValidity.outsideDates(null, 0)).isNull();
        assertThat(ChainValidity.outsideDates(new Certificate[0], 0)).isNull();
    }
}

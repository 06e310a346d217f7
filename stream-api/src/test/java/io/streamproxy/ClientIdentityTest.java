package io.streamproxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ClientIdentityTest {
    @Test
    void ofChain_readsTheLeaf_andAgainForTheSameBytes_givesTheSameIdentity() throws Exception {
        KeyPair ca = TestCertificates.keys();
        X509Certificate first = TestCertificates.client(ca.getPrivate(), 1, Instant.now().plus(Duration.ofDays(1)));
        X509Certificate second = TestCertificates.client(ca.getPrivate(), 2, Instant.now().plus(Duration.ofDays(1)));
        ClientIdentity a = ClientIdentity.ofChain(new Certificate[] {first});
        assertThat(a).isEqualTo(ClientIdentity.of(first));
        assertThat(a.commonName()).isEqualTo("client 1");
        assertThat(ClientIdentity.ofChain(new Certificate[] {first})).as("remembered for the same certificate")
                .isSameAs(a);
        ClientIdentity b = ClientIdentity.ofChain(new Certificate[] {second});
        assertThat(b.commonName()).isEqualTo("client 2");
        assertThat(ClientIdentity.ofChain(null)).isNull();
        assertThat(ClientIdentity.ofChain(new Certificate[0])).isNull();
    }
}

package io.streamproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.testkit.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TlsCredentials lives in stream-api; its tests live here, where the test PKI is. */
class TlsCredentialsTest {
    private final TestPki pki = TestPki.shared();

    @Test
    void fromPem_readsPkcs8Keys() throws Exception {
        TlsCredentials c = TlsCredentials.fromPem(pki.caFile(), pki.clientCertFile(), pki.clientKeyFile());
        assertThat(c.certificateChain().get(0)).isEqualTo(pki.client().certificate());
        assertThat(c.privateKey().getEncoded()).isEqualTo(pki.client().key().getEncoded());
        assertThat(c.trustedCas()).containsExactly(pki.caCertificate());
        SSLContext tls = c.newSslContext("TLS");
        assertThat(tls.getProtocol()).isEqualTo("TLS");
    }

    @Test
    void fromPem_readsSec1KeysLikeTheGoAgentWrites() throws Exception {
        assertThat(Files.readString(pki.clientSec1KeyFile())).startsWith("-----BEGIN EC PRIVATE KEY-----");
        TlsCredentials c = TlsCredentials.fromPem(pki.caFile(), pki.clientCertFile(), pki.clientSec1KeyFile());
        assertThat(c.privateKey().getAlgorithm()).isIn("EC", "ECDSA");
    }

    @Test
    void sec1KeyMadeByOpenssl_loads(@TempDir Path dir) throws Exception {
        Path openssl = io.streamproxy.testkit.OutsidePeers.require("openssl");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder(openssl.toString(), "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", key.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(Files.readString(key)).startsWith("-----BEGIN EC PRIVATE KEY-----");
        PrivateKey k = PemKeys.read(key);
        assertThat(((java.security.interfaces.ECPrivateKey) k).getParams().getCurve().getField().getFieldSize())
                .isEqualTo(256);
    }

    @Test
    void pkcs8_loadsWithTheJdkAlone() throws Exception {
        PrivateKey key = PemKeys.read(pki.clientKeyFile(), false);
        assertThat(key.getEncoded()).isEqualTo(pki.client().key().getEncoded());
    }

    @Test
    void sec1_withoutBouncyCastle_saysHowToFixIt() {
        assertThatThrownBy(() -> PemKeys.read(pki.clientSec1KeyFile(), false))
                .hasMessageContaining("EC PRIVATE KEY")
                .hasMessageContaining("bcpkix-jdk18on")
                .hasMessageContaining("openssl pkcs8 -topk8");
    }

    @Test
    void keyThatDoesNotMatchTheCertificate_isRefused() {
        assertThatThrownBy(() -> TlsCredentials.fromPem(pki.caFile(), pki.clientCertFile(), pki.serverKeyFile()))
                .hasMessageContaining("does not match");
    }

    @Test
    void keyFileGivenAsCertificate_saysSo(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> TlsCredentials.fromPem(pki.caFile(), pki.clientKeyFile(), pki.clientKeyFile()))
                .hasMessageContaining("it looks like a private key");
        Path empty = Files.writeString(dir.resolve("empty.pem"), "nothing here\n");
        assertThatThrownBy(() -> TlsCredentials.fromPem(pki.caFile(), pki.clientCertFile(), empty))
                .hasMessageContaining("holds no PEM private key");
    }

    @Test
    void toString_redactsTheKey() {
        String s = pki.clientCredentials().toString();
        assertThat(s).contains("redacted").doesNotContain(pki.client().key().toString());
    }

    @Test
    void fromKeyStore_takesTheKeyEntryAndTrustedCertificates() throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("me", pki.client().key(), "pw".toCharArray(),
                new X509Certificate[] {pki.client().certificate()});
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.caCertificate());
        TlsCredentials c = TlsCredentials.fromKeyStore(keys, "pw".toCharArray(), trust);
        assertThat(c.certificateChain()).isEqualTo(List.of(pki.client().certificate()));
        assertThat(c.trustedCas()).containsExactly(pki.caCertificate());
    }
}

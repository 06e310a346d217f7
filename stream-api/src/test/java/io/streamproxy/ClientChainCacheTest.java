package io.streamproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.net.Socket;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ClientChainCacheTest {
    private static KeyPair caKeys;
    private static X509Certificate ca;
    private static X509Certificate otherCa;
    private static KeyPair otherCaKeys;

    @BeforeAll
    static void pki() throws Exception {
        caKeys = TestCertificates.keys();
        ca = TestCertificates.certificate("CN=test ca", caKeys.getPublic(), "CN=test ca", caKeys.getPrivate(), true, 1,
                Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(10)));
        otherCaKeys = TestCertificates.keys();
        otherCa = TestCertificates.certificate("CN=other ca", otherCaKeys.getPublic(), "CN=other ca",
                otherCaKeys.getPrivate(), true,
                2, Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(10)));
    }

    @Test
    void anAcceptedClientChainIsValidatedOnce_thenRemembered() throws Exception {
        Counting jdk = new Counting(pkix(ca));
        ClientChainCache cache = new ClientChainCache(jdk);
        X509Certificate[] chain = {TestCertificates.client(caKeys.getPrivate(), 10,
                Instant.now().plus(Duration.ofDays(5)))};
        for (int i = 0; i < 5; i++) {
            cache.checkClientTrusted(chain, "EC", (SSLEngine) null);
        }
        assertThat(jdk.clientChecks.get()).as("full validations for five handshakes with one chain").isEqualTo(1);

        X509Certificate[] another = {TestCertificates.client(caKeys.getPrivate(), 11,
                Instant.now().plus(Duration.ofDays(5)))};
        cache.checkClientTrusted(another, "EC", (SSLEngine) null);
        assertThat(jdk.clientChecks.get()).as("a different chain is validated on its own").isEqualTo(2);
        cache.checkClientTrusted(chain, "RSA", (SSLEngine) null);
        assertThat(jdk.clientChecks.get()).as("another key type is another check").isEqualTo(3);
    }

    @Test
    void aRejectedChainIsNeverRemembered() throws Exception {
        Counting jdk = new Counting(pkix(ca));
        ClientChainCache cache = new ClientChainCache(jdk);
        X509Certificate[] foreign = {TestCertificates.client(otherCaKeys.getPrivate(), 20,
                Instant.now().plus(Duration.ofDays(5)),
                "CN=other ca")};
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> cache.checkClientTrusted(foreign, "EC", (SSLEngine) null))
                    .isInstanceOf(CertificateException.class);
        }
        assertThat(jdk.clientChecks.get()).isEqualTo(3);
        assertThat(cache.size()).isZero();
    }

    @Test
    void aRefusedChainIsNamed_withTheCasTrustedHere_andTheJdksReasonAsCause() throws Exception {
        ClientChainCache cache = new ClientChainCache(pkix(ca));
        X509Certificate[] foreign = {TestCertificates.client(otherCaKeys.getPrivate(), 21,
                Instant.now().plus(Duration.ofDays(5)), "CN=other ca")};
        Throwable refused = catchThrowable(() -> cache.checkClientTrusted(foreign, "EC", (SSLEngine) null));
        assertThat(refused).isInstanceOf(CertificateException.class)
                .hasMessageStartingWith("client certificate \"CN=client 21\" issued by \"CN=other ca\" refused: ")
                .hasMessageContaining("trusted here: \"CN=test ca\"")
                .hasMessageNotContaining("same name");
        assertThat(((CertificateRefusedException) refused).reason())
                .isEqualTo(CertificateRefusedException.Reason.UNTRUSTED_ISSUER);
        assertThat(refused.getCause()).as("the JDK's own exception").isNotNull();
    }

    @Test
    void aChainFromAnotherCaOfTheTrustedName_isRefusedWithThatSaid() throws Exception {
        ClientChainCache cache = new ClientChainCache(pkix(ca));
        X509Certificate[] impostor = {TestCertificates.client(otherCaKeys.getPrivate(), 22,
                Instant.now().plus(Duration.ofDays(5)), "CN=test ca")};
        Throwable refused = catchThrowable(() -> cache.checkClientTrusted(impostor, "EC", (SSLEngine) null));
        assertThat(refused).isInstanceOf(CertificateRefusedException.class)
                .hasMessageStartingWith("client certificate \"CN=client 22\" issued by \"CN=test ca\" refused: ")
                .hasMessageContaining("a trusted CA has the name \"CN=test ca\" but did not sign it");
        assertThat(((CertificateRefusedException) refused).reason()).as("a signature by another key: Go's "
                + "\"signed by unknown authority\"").isEqualTo(CertificateRefusedException.Reason.UNTRUSTED_ISSUER);
        assertThat(refused.getCause()).as("the JDK's reason, directly, where its engines look for it")
                .isInstanceOf(CertPathValidatorException.class);
    }

    @Test
    void aPeersNamesAreBoundedInTheMessage() throws Exception {
        ClientChainCache cache = new ClientChainCache(pkix(ca));
        String huge = "CN=" + "x".repeat(5000);
        X509Certificate[] chain = {TestCertificates.certificate(huge, TestCertificates.keys().getPublic(), huge,
                otherCaKeys.getPrivate(), false, 25, Instant.now().minus(Duration.ofDays(1)),
                Instant.now().plus(Duration.ofDays(5)))};
        Throwable refused = catchThrowable(() -> cache.checkClientTrusted(chain, "EC", (SSLEngine) null));
        assertThat(refused).isInstanceOf(CertificateRefusedException.class);
        assertThat(refused.getMessage().length()).as("the message of a refusal naming a 5,000-character subject")
                .isLessThan(1500);
    }

    @Test
    void anExpiredChainIsRefusedForItsDates() throws Exception {
        ClientChainCache cache = new ClientChainCache(pkix(ca));
        X509Certificate[] expired = {TestCertificates.client(caKeys.getPrivate(), 24,
                Instant.now().minus(Duration.ofHours(1)))};
        Throwable refused = catchThrowable(() -> cache.checkClientTrusted(expired, "EC", (SSLEngine) null));
        assertThat(refused).isInstanceOf(CertificateRefusedException.class)
                .hasMessageStartingWith("client certificate \"CN=client 24\" issued by \"CN=test ca\" refused: ")
                .hasMessageNotContaining("trusted here");
        assertThat(((CertificateRefusedException) refused).reason())
                .isEqualTo(CertificateRefusedException.Reason.OUTSIDE_VALIDITY);
    }

    @Test
    void aRefusedServerChainIsNamedToo() throws Exception {
        ClientChainCache cache = new ClientChainCache(pkix(ca));
        X509Certificate[] foreign = {TestCertificates.client(otherCaKeys.getPrivate(), 23,
                Instant.now().plus(Duration.ofDays(5)), "CN=other ca")};
        assertThatThrownBy(() -> cache.checkServerTrusted(foreign, "EC", (SSLEngine) null))
                .hasMessageStartingWith("server certificate \"CN=client 23\" issued by \"CN=other ca\" refused: ");
    }

    @Test
    void theDatesAreCheckedOnEveryHandshake() throws Exception {
        Counting jdk = new Counting(pkix(ca));
        ClientChainCache cache = new ClientChainCache(jdk);
        // valid for two seconds from now: accepted, then expired while remembered
        Instant end = Instant.now().plusSeconds(2);
        X509Certificate[] chain = {TestCertificates.client(caKeys.getPrivate(), 30, end)};
        cache.checkClientTrusted(chain, "EC", (SSLEngine) null);
        assertThat(cache.size()).isEqualTo(1);
        ExpiringClock.waitUntil(end);
        assertThatThrownBy(() -> cache.checkClientTrusted(chain, "EC", (SSLEngine) null))
                .isInstanceOf(CertificateException.class);
        assertThat(jdk.clientChecks.get()).as("the expired chain went back to the JDK's check").isEqualTo(2);
        assertThat(cache.size()).isZero();
    }

    @Test
    void serverChainsAreAlwaysValidatedInFull() throws Exception {
        Counting jdk = new Counting(pkix(ca));
        ClientChainCache cache = new ClientChainCache(jdk);
        X509Certificate[] chain = {TestCertificates.client(caKeys.getPrivate(), 40,
                Instant.now().plus(Duration.ofDays(5)))};
        for (int i = 0; i < 3; i++) {
            try {
                cache.checkServerTrusted(chain, "EC", (SSLEngine) null);
            } catch (CertificateException expected) {
                // a client-auth-only certificate fails a server check: what matters is that each one ran
            }
        }
        assertThat(jdk.serverChecks.get()).isEqualTo(3);
    }

    @Test
    void theMemoryIsBounded() throws Exception {
        Counting jdk = new Counting(pkix(ca));
        ClientChainCache cache = new ClientChainCache(jdk);
        X509Certificate leaf = TestCertificates.client(caKeys.getPrivate(), 50, Instant.now().plus(Duration.ofDays(5)));
        for (int i = 0; i < ClientChainCache.MAX_CHAINS + 10; i++) {
            cache.checkClientTrusted(new X509Certificate[] {leaf}, "type-" + i, (SSLEngine) null);
        }
        assertThat(jdk.clientChecks.get()).isEqualTo(ClientChainCache.MAX_CHAINS + 10);
        assertThat(cache.size()).as("remembered after the bound was reached").isBetween(1,
                ClientChainCache.MAX_CHAINS);
    }

    /** Waits, without polling, until the wall clock has passed {@code instant}. */
    static final class ExpiringClock {
        static void waitUntil(Instant instant) throws InterruptedException {
            Object lock = new Object();
            synchronized (lock) {
                long ms;
                while ((ms = Duration.between(Instant.now(), instant).toMillis() + 50) > 0) {
                    lock.wait(ms);
                }
            }
        }
    }

    private static X509ExtendedTrustManager pkix(X509Certificate trusted) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("ca", trusted);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(store);
        for (TrustManager m : tmf.getTrustManagers()) {
            if (m instanceof X509ExtendedTrustManager) {
                return (X509ExtendedTrustManager) m;
            }
        }
        throw new AssertionError("no PKIX trust manager");
    }

    /** The JDK's trust manager, counting the checks that reach it. */
    private static final class Counting extends X509ExtendedTrustManager {
        final X509ExtendedTrustManager jdk;
        final AtomicInteger clientChecks = new AtomicInteger();
        final AtomicInteger serverChecks = new AtomicInteger();

        Counting(X509ExtendedTrustManager jdk) {
            this.jdk = jdk;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            clientChecks.incrementAndGet();
            jdk.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            clientChecks.incrementAndGet();
            jdk.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            clientChecks.incrementAndGet();
            jdk.checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            serverChecks.incrementAndGet();
            jdk.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            serverChecks.incrementAndGet();
            jdk.checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            serverChecks.incrementAndGet();
            jdk.checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return jdk.getAcceptedIssuers();
        }
    }
}

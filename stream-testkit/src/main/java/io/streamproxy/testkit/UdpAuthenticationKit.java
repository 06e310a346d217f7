package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.HealthProbeException;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Authentication over UDP: a client without a certificate fails its handshake within the timeout, and a foreign or
 * expired certificate, or one from another CA of the trusted CA's name, fails with a clear exception that the probe
 * reports, the server's refusal naming the certificate.
 */
public abstract class UdpAuthenticationKit extends UdpKitBase {
    @Test
    public void noClientCertificate_failsHandshakeWithinTimeout() throws Exception {
        StreamServer server = startServer();
        long start = System.nanoTime();
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), null, pki.clientCredentials())) {
            assertThatThrownBy(() -> c.handshake(WAIT)).isInstanceOf(IOException.class);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WAIT);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.datagramCount()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"foreignCa", "expired"})
    public void untrustedClientCertificate_failsWithClearException_andProbeSaysSo(String variant) throws Exception {
        StreamServer server = startServer();
        TlsCredentials bad = variant.equals("expired") ? pki.expiredClientCredentials()
                : pki.foreignClientCredentials();
        StreamClient client = client(server, bad);
        long start = System.nanoTime();
        assertThatThrownBy(() -> client.openUdp(echo.host(), echo.port())).isInstanceOf(IOException.class)
                .satisfies(e -> assertThat(e.getMessage()).isNotBlank());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThatThrownBy(() -> client.probeUdp(Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .isIn(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                                HealthProbeException.Failure.HANDSHAKE_FAILED));
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.datagramCount()).isZero();
    }

    /**
     * A client certificate from another CA that has the trusted CA's name (two runs of a certificate tool): the server
     * refuses it, its refusal's detail names the refused certificate, and the probe says the certificate was refused.
     */
    @Test
    public void clientCertificateFromSameNamedCa_isRefused_andNamed() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server, pki.impostorClientCredentials());
        assertThatThrownBy(() -> client.probeUdp(Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .as("the probe's failure: %s", e.getMessage())
                        .isEqualTo(HealthProbeException.Failure.CERTIFICATE_REFUSED));
        RecordingListener.Refusal refusal = events.awaitRefusal(WAIT);
        assertThat(refusal.reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(refusal.detail()).as("the refusal's detail").contains("CN=stream-proxy impostor client");
        assertThat(echo.datagramCount()).isZero();
    }

    /**
     * The client's certificate is rotated ({@link StreamClient#updateCredentials}): the tunnel already open goes on,
     * and the next tunnel handshakes with the new certificate.
     */
    @Test
    public void rotatedClientCredentials_reachTheNextTunnel_whileOpenOnesGoOn() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        try (DatagramTunnel before = client.openUdp(echo.host(), echo.port())) {
            assertThat(events.awaitOpened(WAIT).clientIdentity()).as("the first tunnel's client certificate")
                    .isEqualTo("CN=stream-proxy test client");
            TestPki.PemFiles rotated = pki.clientValidUntil(Instant.now().plus(Duration.ofDays(1)));
            client.updateCredentials(TlsCredentials.fromPem(pki.caFile(), rotated.certificate(), rotated.key()));
            try (DatagramTunnel after = client.openUdp(echo.host(), echo.port())) {
                assertThat(events.awaitOpened(WAIT).clientIdentity())
                        .as("the client certificate of the tunnel opened after the rotation")
                        .isEqualTo("CN=stream-proxy short-lived client");
                after.send(ByteBuffer.wrap(new byte[] {2}));
                assertThat(receive(after)).containsExactly(2);
            }
            before.send(ByteBuffer.wrap(new byte[] {1}));
            assertThat(receive(before)).as("the first tunnel, still relaying").containsExactly(1);
        }
    }
}

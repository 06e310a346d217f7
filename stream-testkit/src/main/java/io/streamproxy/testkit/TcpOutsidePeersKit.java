package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamproxy.Destination;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Peers nobody here wrote drive the TCP server: Python's {@code ssl} on TLS 1.3 and (where
 * {@link #serverSupportsTls12()}) TLS 1.2, and {@code openssl s_client} with ALPN and a client certificate; each
 * builds its own header. Python also resumes its session on a second tunnel, which must work, and must not let a
 * client in once its certificate has expired (no engine checks a resumed session's certificate again).
 */
public abstract class TcpOutsidePeersKit extends TcpKitBase {
    @ParameterizedTest(name = "TLS {0}")
    @ValueSource(strings = {"1.3", "1.2"})
    public void pythonSslClient_buildsItsOwnHeader_andGetsAnEcho(String version) throws Exception {
        assumeTrue(!version.equals("1.2") || serverSupportsTls12(),
                "transport serves TLS 1.3 only");
        StreamServer server = startServer();
        byte[] payload = new byte[100_000];
        new Random(7).nextBytes(payload);
        OutsidePeers.Result r = OutsidePeers.pythonTls(server.tcpAddress(), pki, echo.host(), echo.port(), payload,
                version, WAIT);
        assertThat(r.exitCode()).as("python stderr: %s", r.stderr()).isZero();
        assertThat(r.stderr()).contains("version=TLSv" + version).contains("alpn=godoxy-agent-stream/1");
        assertThat(r.stdout()).isEqualTo(payload);
        assertThat(events.awaitClosed(WAIT).bytesToDestination()).isEqualTo(payload.length);
    }

    @ParameterizedTest(name = "TLS {0}")
    @ValueSource(strings = {"1.3", "1.2"})
    public void pythonSslClient_resumesItsSession_onTheNextTunnel(String version) throws Exception {
        assumeTrue(!version.equals("1.2") || serverSupportsTls12(), "transport serves TLS 1.3 only");
        StreamServer server = startServer();
        byte[] payload = "resume me\n".getBytes(StandardCharsets.US_ASCII);
        OutsidePeers.Result r = OutsidePeers.pythonTlsResuming(server.tcpAddress(), pki, pki.clientCertFile(),
                pki.clientKeyFile(), echo.host(), echo.port(), payload, version, null, WAIT);
        assertThat(r.exitCode()).as("python stderr: %s", r.stderr()).isZero();
        assertThat(r.stderr()).as("the second tunnel resumed the first one's session")
                .contains("tunnel=1 version=TLSv" + version + " reused=False")
                .contains("tunnel=2 version=TLSv" + version + " reused=True");
        assertThat(r.stdout()).isEqualTo(payload);
        events.awaitOpened(WAIT);
        events.awaitOpened(WAIT);
        assertThat(events.awaitHandshake(WAIT)).as("the server saw the first handshake as full").isFalse();
        assertThat(events.awaitHandshake(WAIT)).as("the server saw the second handshake as resumed").isTrue();
    }

    @Test
    public void resumedSession_isRefused_onceTheClientCertificateHasExpired() throws Exception {
        StreamServer server = startServer();
        // X.509 dates have whole seconds; the first tunnel has 3 to 4 s to finish, the second comes after the end
        Instant notAfter = Instant.now().plusSeconds(4).truncatedTo(ChronoUnit.SECONDS);
        TestPki.PemFiles shortLived = pki.clientValidUntil(notAfter);
        byte[] payload = "resume me\n".getBytes(StandardCharsets.US_ASCII);
        OutsidePeers.Result r = OutsidePeers.pythonTlsResuming(server.tcpAddress(), pki, shortLived.certificate(),
                shortLived.key(), echo.host(), echo.port(), payload, "1.3", notAfter.plusMillis(1500),
                WAIT.plusSeconds(5));
        assertThat(r.stderr()).as("the first tunnel, while the certificate was valid")
                .contains("tunnel=1 version=TLSv1.3 reused=False echoed=" + payload.length);
        assertThat(r.exitCode()).as("a tunnel on a session that outlived its certificate; python stderr: %s",
                r.stderr()).isIn(3, 4);
        assertThat(r.stdout()).isEmpty();
        RecordingListener.Refusal refusal = events.awaitRefusal(WAIT);
        assertThat(refusal.reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(refusal.detail()).contains("short-lived client").contains("not now");
        assertThat(events.awaitHandshake(WAIT)).as("only the first handshake was let in").isFalse();
        assertThat(events.openedCount()).as("sessions opened").isEqualTo(1);
        assertThat(echo.connectionCount()).as("connections to the destination").isEqualTo(1);
    }

    @Test
    public void opensslSClient_withAlpnAndClientCertificate_getsAnEcho() throws Exception {
        StreamServer server = startServer();
        byte[] payload = "echo me through openssl\n".getBytes(StandardCharsets.US_ASCII);
        byte[] header = WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0);
        byte[] input = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, input, header.length, payload.length);
        OutsidePeers.Result r = OutsidePeers.opensslTls(server.tcpAddress(), pki, input, payload.length, WAIT);
        assertThat(r.stdout()).as("openssl stderr: %s", r.stderr()).isEqualTo(payload);
        assertThat(events.awaitOpened(WAIT).destination()).isEqualTo(Destination.of(echo.host(), echo.port()));
    }
}

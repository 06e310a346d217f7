package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamproxy.Destination;
import io.streamproxy.StreamServer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Peers nobody here wrote drive the TCP server: Python's {@code ssl} on TLS 1.3 and (where
 * {@link #serverSupportsTls12()}) TLS 1.2, and {@code openssl s_client} with ALPN and a client certificate; each
 * builds its own header.
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

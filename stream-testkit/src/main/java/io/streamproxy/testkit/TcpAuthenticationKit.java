package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamproxy.HealthProbeException;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Authentication over TCP: a client without a certificate, with a foreign or expired one, a server certificate that
 * does not match the server name, and a wrong or missing ALPN protocol are all refused.
 */
public abstract class TcpAuthenticationKit extends TcpKitBase {
    @Test
    public void noClientCertificate_isRefused() throws Exception {
        StreamServer server = startServer();
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), null, pki.clientCredentials(),
                    new String[] {"godoxy-agent-stream/1"}, WAIT)) {
                s.getOutputStream().write(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
                assertClosedByServer(s.getInputStream());
                throw new IOException("closed by the server after the handshake");
            }
        });
        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.connectionCount()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"foreignCa", "expired"})
    public void untrustedClientCertificate_isRefused_andProbeSaysSo(String variant) throws Exception {
        StreamServer server = startServer();
        TlsCredentials bad = variant.equals("expired") ? pki.expiredClientCredentials()
                : pki.foreignClientCredentials();
        StreamClient client = client(server, bad);
        String accepted = "the server accepted a client certificate it must not trust ("
                + (variant.equals("expired") ? "expired" : "a client certificate from another CA") + ")";
        assertThat(catchThrowable(() -> client.probeTcp(Duration.ofSeconds(10))))
                .as("a health probe: %s", accepted)
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .as("the probe's failure").isEqualTo(HealthProbeException.Failure.CERTIFICATE_REFUSED));
        assertThat(events.awaitRefusal(WAIT).reason()).as("why the server refused: %s", accepted)
                .isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        Throwable failure = catchThrowable(() -> {
            try (TcpTunnel t = open(client, echo.host(), echo.port())) {
                t.output().write('x');
                t.output().flush();
                assertClosedByServer(t.input());
                throw new IOException("closed by the server");
            }
        });
        assertThat(failure).as("a tunnel: %s", accepted).isInstanceOf(IOException.class);
        assertThat(echo.connectionCount()).as("connections to the destination: %s", accepted).isZero();
        assertThat(events.openedCount()).as("sessions opened: %s", accepted).isZero();
    }

    /**
     * A client certificate from another CA that has the trusted CA's name (two runs of a certificate tool): the client
     * sends it, as the server asks for a CA of that name. The server refuses it with a certificate alert, not
     * internal_error (which sends the client's operator looking for a fault in the server); the refusal's detail names
     * the refused certificate, and the probe says the certificate was refused.
     */
    @Test
    public void clientCertificateFromSameNamedCa_isRefusedWithACertificateAlert_andNamed() throws Exception {
        StreamServer server = startServer();
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.impostorClientCredentials(), null,
                    new String[] {"godoxy-agent-stream/1"}, WAIT)) {
                s.getInputStream().read(); // in TLS 1.3 the server's verdict comes after the client's Finished
            }
        });
        assertThat(failure).as("what the client read").isInstanceOf(javax.net.ssl.SSLException.class);
        assertThat(failure.getMessage()).as("the alert the client received")
                .containsPattern("Received fatal alert: "
                        + "(unknown_ca|bad_certificate|certificate_unknown|access_denied)$");
        RecordingListener.Refusal refusal = events.awaitRefusal(WAIT);
        assertThat(refusal.reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(refusal.detail()).as("the refusal's detail").contains("CN=stream-proxy impostor client");
        StreamClient client = client(server, pki.impostorClientCredentials());
        assertThat(catchThrowable(() -> client.probeTcp(Duration.ofSeconds(10))))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .as("the probe's failure").isEqualTo(HealthProbeException.Failure.CERTIFICATE_REFUSED));
        assertThat(echo.connectionCount()).isZero();
        assertThat(events.openedCount()).isZero();
    }

    @Test
    public void serverCertificateNotMatchingServerName_isRefusedByClient() throws Exception {
        StreamServer server = startServer();
        StreamClient client = closeLater(newClient(clientOptions(server.tcpAddress(), pki.clientCredentials())
                .serverName("not-the-agent.example").build()));
        assertThatThrownBy(() -> open(client, echo.host(), echo.port())).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> client.probeTcp(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .isEqualTo(HealthProbeException.Failure.CERTIFICATE_REFUSED));
        assertThat(echo.connectionCount()).isZero();
    }

    @ParameterizedTest(name = "alpn={0}")
    @ValueSource(strings = {"h2", "none"})
    public void wrongAlpn_isRefused(String alpn) throws Exception {
        StreamServer server = startServer();
        String[] offered = alpn.equals("none") ? new String[0] : new String[] {alpn};
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null, offered,
                    WAIT)) {
                s.getOutputStream().write(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
                s.getOutputStream().flush();
                assertClosedByServer(s.getInputStream());
                throw new IOException("closed by the server after the handshake");
            }
        });
        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.connectionCount()).isZero();
    }
}

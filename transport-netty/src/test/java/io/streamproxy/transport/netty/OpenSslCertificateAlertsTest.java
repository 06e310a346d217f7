package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamproxy.StreamServer;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.TcpKitBase;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * On BoringSSL, a refused client certificate is answered with the alert Go's crypto/tls sends for the same refusal
 * (Netty's own mapping made most of them internal_error), over TLS 1.3 and 1.2.
 */
@ExtendWith(OpenSslConfig.class)
class OpenSslCertificateAlertsTest extends TcpKitBase {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @ParameterizedTest(name = "{0} over {2}")
    @CsvSource({"another CA of the trusted name, unknown_ca, TLSv1.3", "expired, certificate_expired, TLSv1.3",
            "another CA of the trusted name, unknown_ca, TLSv1.2", "expired, certificate_expired, TLSv1.2"})
    void aRefusedClientCertificate_isAnsweredWithTheAlertThatSaysWhy(String variant, String alert, String version)
            throws Exception {
        StreamServer server = startServer();
        TlsCredentials bad = variant.equals("expired") ? pki.expiredClientCredentials()
                : pki.impostorClientCredentials();
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), bad, null,
                    new String[] {"godoxy-agent-stream/1"}, new String[] {version}, WAIT)) {
                s.getInputStream().read();
            }
        });
        assertThat(failure).as("what the client met").isInstanceOf(javax.net.ssl.SSLException.class)
                .hasMessageEndingWith("Received fatal alert: " + alert); // JDK 25 puts "(alert) " first
    }

    /**
     * A forward whose client certificate the server refuses says so: in TLS 1.3 the refusal comes after the client's
     * handshake, as an alert on the open tunnel, and the forward logs it at WARN with what the alert means (it was a
     * debug line, the local client seeing only its connection close).
     */
    @Test
    void aForwardWhoseCertificateIsRefused_saysWhy() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.streamproxy.testkit.RecordedLogs.isActive());
        StreamServer server = startServer();
        io.streamproxy.PortForward f = closeLater(client(server, pki.impostorClientCredentials()).forwardTcp(
                io.streamproxy.Destination.of(echo.host(), echo.port()),
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0)));
        int mark = io.streamproxy.testkit.RecordedLogs.mark();
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(f.address(), (int) WAIT.toMillis());
            s.setSoTimeout((int) WAIT.toMillis());
            s.getOutputStream().write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            int got;
            try {
                got = s.getInputStream().read();
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the local connection stayed open", e);
            } catch (java.io.IOException reset) {
                got = -1; // a reset ends it too
            }
            assertThat(got).as("the local connection ends").isEqualTo(-1);
        }
        // the tunnel's FIN can reach the local client before its alert is read: wait for the line, bounded
        java.util.function.Predicate<io.streamproxy.testkit.RecordedLogs.Event> refused = e -> e.message().contains(
                "certificate refused: the server answered with alert unknown_ca: it does not trust the CA that issued "
                        + "this client's certificate");
        assertThat(io.streamproxy.testkit.RecordedLogs.await(mark, org.slf4j.event.Level.WARN, refused, WAIT))
                .as("what the forward logged at WARN").filteredOn(refused).hasSize(1);
    }
}

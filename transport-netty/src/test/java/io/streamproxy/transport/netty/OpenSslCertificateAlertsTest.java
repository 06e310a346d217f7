package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamproxy.StreamServer;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.TcpKitBase;
import javax.net.ssl.SSLSocket;
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
}

package io.streamproxy.transport.jdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpKitBase;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * In TLS 1.3 a server refuses the client's certificate after the client's handshake, so a jdk tunnel learns of it on
 * its first read: the failure says so in the words every forward logs, not only the engine's alert.
 */
class JdkCertificateRefusalTest extends TcpKitBase {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }

    @Test
    void aTunnelWhoseCertificateIsRefused_failsItsReadInWords() throws Exception {
        StreamServer server = startServer();
        Throwable failure = catchThrowable(() -> {
            try (TcpTunnel t = open(client(server, pki.impostorClientCredentials()), echo.host(), echo.port())) {
                t.setReadTimeout(WAIT);
                t.output().write("hello".getBytes(StandardCharsets.US_ASCII));
                t.output().flush();
                t.input().read();
            }
        });
        assertThat(failure).as("what the tunnel's read failed with").isInstanceOf(javax.net.ssl.SSLException.class)
                .hasMessageStartingWith("certificate refused: the server answered with alert certificate_unknown: "
                        + "it refused this client's certificate (")
                .hasCauseInstanceOf(javax.net.ssl.SSLException.class);
    }
}

package io.streamproxy.transport.jdk;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.TlsCredentials;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.TestPki;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's Java example, as it is printed there, from PEM files. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReadmeExampleTest {

    @Test
    void serverAndClientFromAFewLines_tunnelTraffic() throws Exception {
        TestPki pki = TestPki.shared();
        try (TcpDestination destination = TcpDestination.echo()) {
            String host = destination.host();
            int port = destination.port();

            // --- README example ---
            TlsCredentials serverCreds = TlsCredentials.fromPem(pki.caFile(), pki.serverCertFile(),
                    pki.serverKeyFile());
            TlsCredentials clientCreds = TlsCredentials.fromPem(pki.caFile(), pki.clientCertFile(),
                    pki.clientKeyFile());

            try (StreamServer server = StreamServer.start(StreamServerOptions.builder(serverCreds)
                    .tcp(new InetSocketAddress("127.0.0.1", 0)).build());
                 StreamClient client = StreamClient.create(
                         StreamClientOptions.builder(server.tcpAddress(), clientCreds).build());
                 TcpTunnel tunnel = client.openTcp(host, port)) {
                tunnel.output().write("hello".getBytes(StandardCharsets.UTF_8));
                tunnel.shutdownOutput();                       // the destination sees EOF
                byte[] reply = tunnel.input().readAllBytes();  // the reply still flows back
                // --- end of README example ---
                assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("hello");
            }
        }
    }
}

package io.streamproxy.transport.jdk;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.RecordingListener;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.TestPki;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A host that serves its own HTTPS API and stream tunnels on one TLS port, choosing by ALPN, with the stream side
 * handed to {@link TlsStreamHandler}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsStreamHandlerTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private final TestPki pki = TestPki.shared();
    private final RecordingListener events = new RecordingListener();
    private TcpDestination echo;
    private SSLServerSocket listener;
    private TlsStreamHandler handler;
    private ExecutorService host;

    @BeforeEach
    void startHost() throws Exception {
        echo = TcpDestination.echo();
        handler = TlsStreamHandler.create(StreamServerOptions.builder(pki.serverCredentials())
                .tcp(new InetSocketAddress(0)).headerTimeout(Duration.ofSeconds(2)).listener(events).build());
        listener = (SSLServerSocket) pki.serverCredentials().newSslContext("TLS").getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        SSLParameters p = listener.getSSLParameters();
        p.setNeedClientAuth(true);
        p.setApplicationProtocols(new String[] {StreamProtocol.ALPN, "http/1.1"});
        listener.setSSLParameters(p);
        host = Executors.newCachedThreadPool();
        host.execute(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) listener.accept();
                host.execute(() -> route(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void route(SSLSocket s) {
        try {
            s.startHandshake();
            if (StreamProtocol.ALPN.equals(s.getApplicationProtocol())) {
                handler.serve(s);
                return;
            }
            try (s) {
                s.getInputStream().read(new byte[1024]);
                OutputStream out = s.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        }
    }

    @AfterEach
    void stopHost() throws Exception {
        listener.close();
        handler.close();
        host.shutdownNow();
        assertThat(host.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        echo.close();
    }

    @Test
    void onePort_servesHttpAndTunnels_chosenByAlpn() throws Exception {
        InetSocketAddress address = (InetSocketAddress) listener.getLocalSocketAddress();
        try (SSLSocket http = RawTlsClient.connect(address, pki.clientCredentials(), null,
                new String[] {"http/1.1"}, WAIT)) {
            http.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: agent\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(http.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 200 OK").endsWith("ok");
        }
        try (StreamClient client = StreamClient.create(StreamClientOptions.builder(address,
                pki.clientCredentials()).build());
             TcpTunnel t = client.openTcp(echo.host(), echo.port())) {
            t.setReadTimeout(WAIT);
            t.output().write("tunnelled".getBytes(StandardCharsets.US_ASCII));
            t.shutdownOutput();
            assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("tunnelled");
        }
        assertThat(events.awaitClosed(WAIT).bytesToDestination()).isEqualTo(9);
    }

    @Test
    void handlerClose_endsItsSessions() throws Exception {
        InetSocketAddress address = (InetSocketAddress) listener.getLocalSocketAddress();
        try (StreamClient client = StreamClient.create(StreamClientOptions.builder(address,
                pki.clientCredentials()).build());
             TcpTunnel t = client.openTcp(echo.host(), echo.port())) {
            t.setReadTimeout(WAIT);
            t.output().write(7);
            assertThat(t.input().read()).isEqualTo(7);
            assertThat(handler.activeSessions()).isEqualTo(1);
            handler.close();
            assertThat(t.input().read()).isEqualTo(-1);
        }
        events.awaitClosed(WAIT);
    }
}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import io.streamproxy.TlsCredentials;
import io.streamproxy.TlsRoute;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * A route ({@link TlsRoute}) beside the tunnels on one TLS port, as {@code stream-proxy server} runs its HTTPS API:
 * HTTP/1.1 (or no ALPN) goes to the route and tunnels keep working on the same port; the route sees the client's
 * verified certificate; mutual TLS, unknown ALPN ids and the handshake deadline are enforced there too.
 */
public abstract class TcpRouteKit extends TcpKitBase {
    /** Answers each request (up to an empty line) with {@code 200 ok} and the client's subject, then closes. */
    protected static final class HelloRoute implements TlsRoute {
        final AtomicInteger opened = new AtomicInteger();

        @Override
        public List<String> protocols() {
            return List.of("http/1.1");
        }

        @Override
        public boolean servesNoAlpn() {
            return true;
        }

        @Override
        public Connection open(Channel channel) {
            opened.incrementAndGet();
            return new Connection() {
                private final StringBuilder request = new StringBuilder();

                @Override
                public void received(ByteBuffer data) {
                    request.append(StandardCharsets.US_ASCII.decode(data));
                    if (request.indexOf("\r\n\r\n") >= 0) {
                        String who = ((X509Certificate) channel.peerCertificates().get(0)).getSubjectX500Principal()
                                .getName();
                        String body = "ok " + channel.applicationProtocol() + " " + who;
                        channel.write(StandardCharsets.US_ASCII.encode("HTTP/1.1 200 OK\r\nContent-Length: "
                                + body.length() + "\r\nConnection: close\r\n\r\n" + body));
                        channel.close();
                    }
                }

                @Override
                public void closed() {
                }
            };
        }
    }

    /** The route the kit installs. */
    protected HelloRoute route = new HelloRoute();

    /**
     * Starts a server of the transport with the kit's route installed.
     *
     * @return the server
     * @throws IOException if it cannot start
     */
    protected StreamServer startServerWithRoute() throws IOException {
        route = new HelloRoute();
        return startServer(b -> b.route(route));
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.US_ASCII);
    }

    private String get(StreamServer server, String[] alpn) throws IOException {
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null, alpn, WAIT)) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: godoxy.agent\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return readAll(s.getInputStream());
        }
    }

    @Test
    public void http11AndTunnels_shareOnePort() throws Exception {
        StreamServer server = startServerWithRoute();
        assertThat(get(server, new String[] {"http/1.1"})).startsWith("HTTP/1.1 200 OK")
                .endsWith("ok http/1.1 CN=stream-proxy test client");
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            t.output().write("through the tunnel".getBytes(StandardCharsets.US_ASCII));
            t.output().flush();
            assertThat(new String(t.input().readNBytes(18), StandardCharsets.US_ASCII))
                    .isEqualTo("through the tunnel");
        }
        assertThat(events.awaitOpened(WAIT).destination().port()).isEqualTo(echo.port());
        assertThat(route.opened.get()).isEqualTo(1);
    }

    @Test
    public void clientOfferingNoAlpn_goesToTheRouteThatServesIt() throws Exception {
        StreamServer server = startServerWithRoute();
        assertThat(get(server, new String[0])).startsWith("HTTP/1.1 200 OK").contains("ok  CN=");
        assertThat(events.refusedCount()).isZero();
    }

    /**
     * A route client that ends its side (TLS 1.3 close_notify) without a request sees the server end too, well before
     * the route's idle bound, so that a client closing a socket that waits for the server's close is not held.
     */
    @Test
    public void routeClientThatEnds_seesTheServerEndToo() throws Exception {
        StreamServer server = startServerWithRoute();
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"http/1.1"}, WAIT)) {
            s.shutdownOutput();
            long start = System.nanoTime();
            assertThat(s.getInputStream().read())
                    .as("the route's end after the client's close_notify (it must not wait for its idle bound)")
                    .isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WAIT);
        }
        assertThat(route.opened.get()).isEqualTo(1);
    }

    /** A client the server must refuse at the handshake: it is refused as such, and the route never opens. */
    private void assertRefusedAndRouteNeverOpened(TlsCredentials credentials, String alpn) throws Exception {
        StreamServer server = startServerWithRoute();
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), credentials, pki.clientCredentials(),
                    new String[] {alpn}, WAIT)) {
                s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertClosedByServer(s.getInputStream());
                throw new IOException("closed by the server after the handshake");
            }
        });
        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(route.opened.get()).isZero();
    }

    @Test
    public void routeWithoutClientCertificate_isRefused_andNeverOpened() throws Exception {
        assertRefusedAndRouteNeverOpened(null, "http/1.1");
    }

    @Test
    public void unknownAlpn_isRefused_evenWithARouteInstalled() throws Exception {
        assertRefusedAndRouteNeverOpened(pki.clientCredentials(), "h2");
    }

    @Test
    public void clientThatNeverStartsTls_isClosedAfterHeaderTimeout_withARouteInstalled() throws Exception {
        StreamServer server = startServerWithRoute();
        assertSilentClientClosedAfterHeaderTimeout(server);
    }
}

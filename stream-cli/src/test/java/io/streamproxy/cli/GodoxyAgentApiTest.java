package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The GoDoxy agent API as {@code stream-proxy server} assembles it (the HTTPS API route on each TCP transport's own
 * server, the destination rules, the health checks), driven the way a GoDoxy server drives an agent: an HTTP/1.1
 * client with the agent CA as its only root, a client certificate, server name {@code godoxy.agent} and no ALPN.
 */
@Timeout(120)
class GodoxyAgentApiTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private final TestPki pki = TestPki.shared();
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    static Stream<String> tcpTransports() {
        return TransportRegistry.getDefault().providers().stream().filter(TransportProvider::isAvailable)
                .filter(p -> p.protocols().contains(Protocol.TCP)).map(TransportProvider::name);
    }

    private <T extends AutoCloseable> T later(T c) {
        open.add(c);
        return c;
    }

    /** The TCP server as ServerCommand builds it, with rules and the agent name given. */
    private StreamServer server(String transport, List<String> deny) throws IOException {
        RouteHealth health = later(new RouteHealth(DestinationRules.parse(List.of(), deny)));
        return later(StreamServer.start(StreamServerOptions.builder(pki.serverCredentials()).transport(transport)
                .tcp(new InetSocketAddress("127.0.0.1", 0)).policy(DestinationRules.parse(List.of(), deny))
                .route(new HttpApiRoute(new Metrics(), new GodoxyAgentApi("test-agent", "docker", health)))
                .build()));
    }

    private record Reply(int status, String body) {
    }

    /** One request as GoDoxy's client sends it: TLS 1.2+, no ALPN, client certificate. */
    private Reply get(StreamServer server, TlsCredentials client, String path) throws IOException {
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), client, pki.clientCredentials(), new String[0],
                WAIT)) {
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: godoxy.agent\r\nUser-Agent: Go-http-client/1.1"
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("^HTTP/1\\.1 (\\d{3}) ").matcher(all);
            assertThat(m.find()).as(all).isTrue();
            int split = all.indexOf("\r\n\r\n");
            return new Reply(Integer.parseInt(m.group(1)), split < 0 ? "" : all.substring(split + 4));
        }
    }

    private Reply health(StreamServer server, String query) throws IOException {
        return get(server, pki.clientCredentials(), "/godoxy/agent/health?" + query);
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @ParameterizedTest
    @MethodSource("tcpTransports")
    void adoptionSequence_infoThenBothProbes(String transport) throws Exception {
        StreamServer tcp = server(transport, List.of());
        StreamServer udp = later(StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                .udp(new InetSocketAddress("127.0.0.1", tcp.tcpAddress().getPort())).build()));
        Reply info = get(tcp, pki.clientCredentials(), "/godoxy/agent/info");
        assertThat(info.status()).isEqualTo(200);
        assertThat(info.body()).matches("\\{\"version\":\"v\\d+\\.\\d+\\.\\d+\",\"name\":\"test-agent\","
                + "\"runtime\":\"docker\"}\\s*");
        assertThat(get(tcp, pki.clientCredentials(), "/godoxy/agent/version").body()).matches("v\\d+\\.\\d+\\.\\d+");
        assertThat(get(tcp, pki.clientCredentials(), "/godoxy/agent/name").body()).isEqualTo("test-agent");
        assertThat(get(tcp, pki.clientCredentials(), "/godoxy/agent/runtime").body()).isEqualTo("docker");
        try (StreamClient c = later(StreamClient.create(StreamClientOptions.builder(
                new InetSocketAddress("127.0.0.1", tcp.tcpAddress().getPort()), pki.clientCredentials())
                .handshakeTimeout(WAIT).build()))) {
            assertThat(c.probeTcp(WAIT)).isPositive();
            assertThat(c.probeUdp(WAIT)).isPositive();
        }
        assertThat(udp.activeSessions(Protocol.UDP)).isZero();
    }

    @ParameterizedTest
    @MethodSource("tcpTransports")
    void clientWithoutCertificate_getsNothing(String transport) throws Exception {
        StreamServer tcp = server(transport, List.of());
        assertThatThrownBy(() -> get(tcp, null, "/godoxy/agent/info")).isInstanceOf(IOException.class);
    }

    @ParameterizedTest
    @MethodSource("tcpTransports")
    void health_tellsTheTruth(String transport) throws Exception {
        StreamServer tcp = server(transport, List.of("127.0.0.1:9"));
        try (TcpDestination echo = TcpDestination.echo(); UdpDestination udpEcho = UdpDestination.echo()) {
            Reply up = health(tcp, "scheme=tcp&host=127.0.0.1&port=" + echo.port() + "&timeout=3000");
            assertThat(up.status()).isEqualTo(200);
            assertThat(up.body()).matches("\\{\"healthy\":true,\"detail\":\"connected to 127\\.0\\.0\\.1:\\d+\","
                    + "\"latency\":\\d+}\\s*");
            Reply hostWithPort = health(tcp, "scheme=tcp4&host=127.0.0.1:" + echo.port());
            assertThat(hostWithPort.body()).contains("\"healthy\":true");

            Reply down = health(tcp, "scheme=tcp&host=127.0.0.1&port=" + closedPort() + "&timeout=3000");
            assertThat(down.status()).isEqualTo(200);
            assertThat(down.body()).contains("\"healthy\":false").contains("refused");

            Reply denied = health(tcp, "scheme=tcp&host=127.0.0.1&port=9");
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.body()).contains("not allowed by policy");

            assertThat(health(tcp, "scheme=gopher&host=127.0.0.1&port=1").status()).isEqualTo(400);
            assertThat(health(tcp, "host=127.0.0.1&port=1").body()).contains("missing scheme");
            assertThat(health(tcp, "scheme=tcp&port=1").body()).contains("missing host");
            Reply both = health(tcp, "scheme=tcp&host=127.0.0.1:80&port=80");
            assertThat(both.status()).isEqualTo(400);
            assertThat(both.body()).contains("port and host with port cannot both be provided");
            assertThat(health(tcp, "scheme=fileserver&path=/srv").status()).isEqualTo(501);
            assertThat(health(tcp, "scheme=h2c&host=127.0.0.1:80").status()).isEqualTo(501);
            assertThat(health(tcp, "scheme=tcp&host=127.1&port=80").status()).isEqualTo(400);

            Reply udpUp = health(tcp, "scheme=udp&host=127.0.0.1&port=" + udpEcho.port() + "&timeout=1000");
            assertThat(udpUp.body()).contains("\"healthy\":true");
            Reply udpDown = health(tcp, "scheme=udp&host=127.0.0.1&port=" + closedPort() + "&timeout=3000");
            assertThat(udpDown.body()).contains("\"healthy\":false").contains("port unreachable");
        }
    }

    @ParameterizedTest
    @MethodSource("tcpTransports")
    void httpHealth_sendsHead_andReportsTheStatus(String transport) throws Exception {
        StreamServer tcp = server(transport, List.of());
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        List<String> methods = new java.util.concurrent.CopyOnWriteArrayList<>();
        http.createContext("/", exchange -> {
            methods.add(exchange.getRequestMethod());
            int code = exchange.getRequestURI().getPath().equals("/broken") ? 503 : 204;
            exchange.sendResponseHeaders(code, -1);
            exchange.close();
        });
        http.start();
        try {
            int port = http.getAddress().getPort();
            Reply ok = health(tcp, "scheme=http&host=127.0.0.1:" + port + "&path=/ready");
            assertThat(ok.body()).contains("\"healthy\":true").contains("HTTP 204");
            Reply broken = health(tcp, "scheme=http&host=127.0.0.1:" + port + "&path=/broken");
            assertThat(broken.body()).contains("\"healthy\":false").contains("HTTP 503");
            assertThat(methods).containsOnly("HEAD");
        } finally {
            http.stop(0);
        }
    }

    @Test
    void godoxyShapedUdpClient_closingAfterSilence_comesBackAtOnce() throws Exception {
        StreamServer udp = later(StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                .udp(new InetSocketAddress("127.0.0.1", 0)).build()));
        try (UdpDestination echo = UdpDestination.echo();
             StreamClient c = StreamClient.create(StreamClientOptions.builder(udp.udpAddress(),
                     pki.clientCredentials()).handshakeTimeout(WAIT).build())) {
            for (int round = 0; round < 3; round++) {
                // GoDoxy drops its session after 30 s without a reply and opens a new one on the next datagram
                try (DatagramTunnel t = c.openUdp(echo.host(), echo.port())) {
                    t.send(ByteBuffer.wrap(new byte[] {(byte) round}));
                    ByteBuffer back = ByteBuffer.allocate(16);
                    assertThat(t.receive(back, WAIT)).isEqualTo(1);
                    assertThat(back.get(0)).isEqualTo((byte) round);
                }
            }
        }
    }

    @Test
    void versionIsGodoxysFormat() {
        assertThat(GodoxyAgentApi.godoxyVersion("0.1.0-SNAPSHOT")).isEqualTo("v0.1.0");
        assertThat(GodoxyAgentApi.godoxyVersion("1.2")).isEqualTo("v1.2.0");
        assertThat(GodoxyAgentApi.godoxyVersion(GodoxyAgentApi.projectVersion())).matches("v\\d+\\.\\d+\\.\\d+");
        assertThat(GodoxyAgentApi.projectVersion()).doesNotStartWith("$").isNotEqualTo("0.0.0");
        assertThat(GodoxyAgentApi.timeout("")).isEqualTo(RouteHealth.DEFAULT_TIMEOUT);
        assertThat(GodoxyAgentApi.timeout("0")).isEqualTo(RouteHealth.DEFAULT_TIMEOUT);
        assertThat(GodoxyAgentApi.timeout("999999999")).isEqualTo(RouteHealth.MAX_TIMEOUT);
        assertThat(GodoxyAgentApi.quote("a\"b\\\n\u0001")).isEqualTo("\"a\\\"b\\\\\\n\\u0001\"");
    }
}

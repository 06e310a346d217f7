package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import io.streamproxy.testkit.RecordingListener;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What {@code stream-proxy server --deny 127.0.0.0/8 --deny '[::1]'} promises, on every transport the registry
 * finds, TCP and UDP: no header reaches a loopback destination in any spelling (names that resolve there, lenient
 * numeric forms, this-host addresses, mapped IPv6), each is refused with the reason that fits, and nothing reaches
 * the destination; and {@code --allow 127.0.0.0/8} admits {@code localhost}, a name that resolves into it.
 */
@Timeout(120)
class LoopbackDenyTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    /** Spellings of this host; each must be refused (the canonical ones by the policy, the others as bad). */
    private static final List<String> LOOPBACK = List.of("localhost", "LOCALHOST", "localhost.", "127.0.0.1",
            "127.1", "127.0.1", "2130706433", "127.000.000.001", "0127.0.0.1", "0x7f.0.0.1", "0", "0.0.0.0",
            "::", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1");

    private final TestPki pki = TestPki.shared();

    static Stream<String> tcpTransports() {
        return names(Protocol.TCP);
    }

    static Stream<String> udpTransports() {
        return names(Protocol.UDP);
    }

    private static Stream<String> names(Protocol protocol) {
        return TransportRegistry.getDefault().providers().stream().filter(TransportProvider::isAvailable)
                .filter(p -> p.protocols().contains(protocol)).map(TransportProvider::name);
    }

    private StreamServerOptions.Builder server(String transport, RecordingListener events, List<String> allow,
                                               List<String> deny) {
        return StreamServerOptions.builder(pki.serverCredentials()).transport(transport).listener(events)
                .policy(DestinationRules.parse(allow, deny)).dialTimeout(Duration.ofSeconds(3));
    }

    /**
     * Canonical spellings are refused by the policy, lenient ones as bad destinations; {@code localhost.} does not
     * resolve with the JDK's resolver (its hosts file has no entry with the dot), so it fails to dial, never
     * reaching anything.
     */
    private static void assertRefused(String host, RecordingListener.Refusal r) {
        if (host.endsWith(".") && r.reason() == RefusalReason.DIAL_FAILED) {
            assertThat(r.detail()).as(host).contains("unknown host");
            return;
        }
        assertThat(r.reason()).as(host + ": " + r.detail())
                .isIn(RefusalReason.POLICY_DENIED, RefusalReason.BAD_DESTINATION);
    }

    private StreamClient client(InetSocketAddress server, String transport) {
        return StreamClient.create(StreamClientOptions.builder(server, pki.clientCredentials()).transport(transport)
                .handshakeTimeout(WAIT).build());
    }

    @ParameterizedTest
    @MethodSource("tcpTransports")
    void tcp_noSpellingOfThisHost_getsThrough(String transport) throws Exception {
        RecordingListener events = new RecordingListener();
        try (TcpDestination v4 = TcpDestination.echo(InetAddress.getByName("127.0.0.1"));
             StreamServer server = StreamServer.start(server(transport, events, List.of(),
                     List.of("127.0.0.0/8", "[::1]")).tcp(new InetSocketAddress("127.0.0.1", 0)).build());
             StreamClient client = client(server.tcpAddress(), transport)) {
            for (String host : LOOPBACK) {
                try (TcpTunnel t = client.openTcp(host, v4.port())) {
                    t.setReadTimeout(WAIT);
                    t.output().write("x".getBytes(StandardCharsets.US_ASCII));
                    assertThat(t.input().read()).as(host).isEqualTo(-1);
                } catch (java.io.IOException e) {
                    // closed by the server while writing: refused as well
                }
                assertRefused(host, events.awaitRefusal(WAIT));
            }
            assertThat(v4.connectionCount()).isZero();
            assertThat(events.openedCount()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("tcpTransports")
    void tcp_allowCidr_admitsANameResolvingIntoIt(String transport) throws Exception {
        RecordingListener events = new RecordingListener();
        try (TcpDestination echo = TcpDestination.echo(InetAddress.getByName("127.0.0.1"));
             StreamServer server = StreamServer.start(server(transport, events, List.of("127.0.0.0/8"),
                     List.of()).tcp(new InetSocketAddress("127.0.0.1", 0)).build());
             StreamClient client = client(server.tcpAddress(), transport);
             TcpTunnel t = client.openTcp("localhost", echo.port())) {
            t.setReadTimeout(WAIT);
            t.output().write("hello".getBytes(StandardCharsets.US_ASCII));
            t.output().flush();
            byte[] back = t.input().readNBytes(5);
            assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(events.awaitOpened(WAIT).destination().host()).isEqualTo("localhost");
        }
    }

    @ParameterizedTest
    @MethodSource("udpTransports")
    void udp_noSpellingOfThisHost_getsThrough(String transport) throws Exception {
        RecordingListener events = new RecordingListener();
        try (UdpDestination echo = UdpDestination.echo();
             StreamServer server = StreamServer.start(server(transport, events, List.of(),
                     List.of("127.0.0.0/8", "[::1]")).udp(new InetSocketAddress("127.0.0.1", 0)).build());
             StreamClient client = client(server.udpAddress(), transport)) {
            for (String host : LOOPBACK) {
                try (DatagramTunnel t = client.openUdp(host, echo.port())) {
                    try {
                        t.send(ByteBuffer.wrap("x".getBytes(StandardCharsets.US_ASCII)));
                    } catch (java.io.IOException e) {
                        // the session ended before the datagram went: refused as well
                    }
                    assertRefused(host, events.awaitRefusal(WAIT)); // before the client closes its side
                }
            }
            assertThat(echo.datagramCount()).isZero();
            assertThat(events.openedCount()).isZero();
        }
    }
}

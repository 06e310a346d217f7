package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every client transport against every server transport, for each protocol they share, in one place. The pairs
 * come from the transports registered on the class path ({@link TransportRegistry}), so a new transport joins the
 * matrix by being on the class path of the module that extends this class; {@link #expectedTransports()} keeps a
 * missing artifact from shrinking the matrix silently. Each pair runs an echo, many datagrams or bytes, and a
 * health probe.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class InteropMatrix {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final TestPki pki = TestPki.shared();

    /**
     * Names the transports that must be on the class path.
     *
     * @return transport names
     */
    protected abstract List<String> expectedTransports();

    static Stream<Arguments> pairs(Protocol protocol) {
        List<String> names = TransportRegistry.getDefault().providers().stream()
                .filter(p -> p.protocols().contains(protocol) && p.isAvailable())
                .map(TransportProvider::name).sorted().collect(Collectors.toList());
        List<Arguments> out = new ArrayList<>();
        for (String client : names) {
            for (String server : names) {
                out.add(Arguments.of(client, server));
            }
        }
        return out.stream();
    }

    static Stream<Arguments> udpPairs() {
        return pairs(Protocol.UDP);
    }

    static Stream<Arguments> tcpPairs() {
        return pairs(Protocol.TCP);
    }

    @Test
    void expectedTransports_areAllRegistered() {
        List<String> found = TransportRegistry.getDefault().providers().stream().map(TransportProvider::name)
                .collect(Collectors.toList());
        assertThat(found).containsAll(expectedTransports());
    }

    @ParameterizedTest(name = "UDP: {0} client -> {1} server")
    @MethodSource("udpPairs")
    void udp_echo_manyDatagrams_andProbe(String clientTransport, String serverTransport) throws Exception {
        try (UdpDestination echo = UdpDestination.echo();
             StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                     .transport(serverTransport).udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                     .build());
             StreamClient client = StreamClient.create(StreamClientOptions.builder(server.udpAddress(),
                     pki.clientCredentials()).transport(clientTransport).build())) {
            assertThat(server.transportName(Protocol.UDP)).isEqualTo(serverTransport);
            Random random = new Random(clientTransport.hashCode() * 31 + serverTransport.hashCode());
            ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
            try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
                for (int i = 0; i < 1000; i++) {
                    int size = i == 0 ? DatagramTunnel.MAX_DATAGRAM : i == 1 ? 1 : 1 + random.nextInt(4000);
                    byte[] data = new byte[size];
                    random.nextBytes(data);
                    t.send(ByteBuffer.wrap(data));
                    in.clear();
                    int n = t.receive(in, WAIT);
                    assertThat(n).as("datagram %d", i).isEqualTo(size);
                    assertThat(Arrays.equals(in.array(), 0, n, data, 0, size)).as("datagram %d", i).isTrue();
                }
            }
            assertThat(client.probeUdp(WAIT)).isPositive();
        }
    }

    @ParameterizedTest(name = "TCP: {0} client -> {1} server")
    @MethodSource("tcpPairs")
    void tcp_echo_bulk_halfClose_andProbe(String clientTransport, String serverTransport) throws Exception {
        try (TcpDestination echo = TcpDestination.echo();
             StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                     .transport(serverTransport).tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                     .build());
             StreamClient client = StreamClient.create(StreamClientOptions.builder(server.tcpAddress(),
                     pki.clientCredentials()).transport(clientTransport).build());
             TcpTunnel t = client.openTcp(echo.host(), echo.port())) {
            assertThat(server.transportName(Protocol.TCP)).isEqualTo(serverTransport);
            t.setReadTimeout(WAIT);
            EchoCheck.roundTrip(t, 8L << 20, 3, WAIT);
            assertThat(client.probeTcp(WAIT)).isPositive();
        }
    }
}

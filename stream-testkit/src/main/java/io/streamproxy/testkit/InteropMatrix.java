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
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every client transport against every server transport, for each protocol they share, in one place. The pairs are
 * the providers that {@link #registry()} finds (by default the class path's, so a new transport joins the matrix by
 * being on the class path of the module that extends this class, without an edit here or there); each side of a pair
 * runs on exactly its provider instance, through a registry that holds only that provider. Each pair runs an echo,
 * many datagrams or bytes, and a health probe. So that a missing artifact or a provider that cannot run here does not
 * shrink the matrix silently, the matrix also checks that the registry found at least two transports, that each is
 * available, and that each protocol is offered by at least two of them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class InteropMatrix {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final TestPki pki = TestPki.shared();

    /**
     * Returns the transports to cross; the class path's by default.
     *
     * @return the registry
     */
    protected TransportRegistry registry() {
        return TransportRegistry.getDefault();
    }

    Stream<Arguments> pairs(Protocol protocol) {
        List<TransportProvider> offering = offering(protocol);
        List<Arguments> out = new ArrayList<>();
        for (TransportProvider client : offering) {
            for (TransportProvider server : offering) {
                out.add(Arguments.of(Named.of(client.name(), client), Named.of(server.name(), server)));
            }
        }
        return out.stream();
    }

    Stream<Arguments> udpPairs() {
        return pairs(Protocol.UDP);
    }

    Stream<Arguments> tcpPairs() {
        return pairs(Protocol.TCP);
    }

    private List<TransportProvider> offering(Protocol protocol) {
        return registry().providers().stream().filter(p -> p.protocols().contains(protocol))
                .sorted(Comparator.comparing(TransportProvider::name)).collect(Collectors.toList());
    }

    @Test
    public void registry_findsAtLeastTwoTransports_eachAvailableHere() {
        List<TransportProvider> found = registry().providers();
        assertThat(found).as("transports found: %s", names(found)).hasSizeGreaterThanOrEqualTo(2);
        for (TransportProvider p : found) {
            assertThat(p.unavailabilityCause()).as("transport '%s' is unavailable here", p.name()).isEmpty();
        }
    }

    @Test
    public void eachProtocol_isOfferedByAtLeastTwoTransports_soThatTheMatrixCrossesImplementations() {
        for (Protocol protocol : Protocol.values()) {
            assertThat(offering(protocol)).as("transports offering %s", protocol).hasSizeGreaterThanOrEqualTo(2);
        }
    }

    @ParameterizedTest(name = "UDP: {0} client -> {1} server")
    @MethodSource("udpPairs")
    public void udp_echo_manyDatagrams_andProbe(TransportProvider clientTransport, TransportProvider serverTransport)
            throws Exception {
        try (UdpDestination echo = UdpDestination.echo();
             StreamServer server = server(serverTransport, StreamServerOptions.builder(pki.serverCredentials())
                     .udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
             StreamClient client = client(clientTransport, StreamClientOptions.builder(server.udpAddress(),
                     pki.clientCredentials()))) {
            assertThat(server.transportName(Protocol.UDP)).isEqualTo(serverTransport.name());
            Random random = new Random(clientTransport.name().hashCode() * 31 + serverTransport.name().hashCode());
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
    public void tcp_echo_bulk_halfClose_andProbe(TransportProvider clientTransport, TransportProvider serverTransport)
            throws Exception {
        try (TcpDestination echo = TcpDestination.echo();
             StreamServer server = server(serverTransport, StreamServerOptions.builder(pki.serverCredentials())
                     .tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
             StreamClient client = client(clientTransport, StreamClientOptions.builder(server.tcpAddress(),
                     pki.clientCredentials()));
             TcpTunnel t = client.openTcp(echo.host(), echo.port())) {
            assertThat(server.transportName(Protocol.TCP)).isEqualTo(serverTransport.name());
            t.setReadTimeout(WAIT);
            EchoCheck.roundTrip(t, 8L << 20, 3, WAIT);
            assertThat(client.probeTcp(WAIT)).isPositive();
        }
    }

    private static StreamServer server(TransportProvider provider, StreamServerOptions.Builder options)
            throws IOException {
        return StreamServer.start(options.transport(provider.name()).build(),
                new TransportRegistry(List.of(provider)));
    }

    private static StreamClient client(TransportProvider provider, StreamClientOptions.Builder options) {
        return StreamClient.create(options.transport(provider.name()).build(),
                new TransportRegistry(List.of(provider)));
    }

    private static List<String> names(List<TransportProvider> providers) {
        return providers.stream().map(TransportProvider::name).collect(Collectors.toList());
    }
}

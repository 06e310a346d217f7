package io.streamproxy.transport.bc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TransportNotFoundException;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import io.streamproxy.testkit.ResourceSnapshot;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BcTransportTest {
    private final TestPki pki = TestPki.shared();

    @Test
    void serviceLoader_findsTheProvider_andItOffersUdpOnly() throws Exception {
        assertThat(ServiceLoader.load(TransportProvider.class).stream().map(ServiceLoader.Provider::type)
                .collect(Collectors.toList())).contains(BcTransportProvider.class);
        TransportProvider bc = TransportRegistry.getDefault().select(Protocol.UDP, "bc");
        assertThat(bc.protocols()).containsExactly(Protocol.UDP);
        assertThatThrownBy(() -> TransportRegistry.getDefault().select(Protocol.TCP, "bc"))
                .isInstanceOf(TransportNotFoundException.class)
                .hasMessageContaining("transport 'bc' does not offer TCP")
                .hasMessageContaining("none on the class path")
                .hasMessageContaining("Add a transport that offers TCP to the class path");
    }

    @Test
    void twoHundredConcurrentSessions_onBoundedThreads_andNoThreadLeftAfterClose() throws Exception {
        ResourceSnapshot before = ResourceSnapshot.take();
        try (UdpDestination echo = UdpDestination.echo();
             StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                     .transport("bc").udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).build());
             StreamClient client = StreamClient.create(StreamClientOptions.builder(server.udpAddress(),
                     pki.clientCredentials()).transport("bc").handshakeTimeout(Duration.ofSeconds(20)).build())) {
            List<DatagramTunnel> tunnels = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                tunnels.add(client.openUdp(echo.host(), echo.port()));
            }
            ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < tunnels.size(); i++) {
                    byte[] data = (i + "/" + round).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                    tunnels.get(i).send(ByteBuffer.wrap(data));
                    in.clear();
                    int n = tunnels.get(i).receive(in, Duration.ofSeconds(10));
                    assertThat(Arrays.copyOf(in.array(), n)).isEqualTo(data);
                }
            }
            assertThat(server.activeSessions(Protocol.UDP)).isEqualTo(200);
            long serverThreads = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("stream-proxy-bc")).count();
            assertThat(serverThreads).as("threads serving 200 idle-between-datagrams sessions").isLessThan(16);
            assertThat(echo.sourceCount()).isEqualTo(200);
        }
        List<Thread> leftover = before.threadsStartedSince(Duration.ofSeconds(10));
        assertThat(leftover).as("threads left: %s", ResourceSnapshot.names(leftover)).isEmpty();
    }
}

package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The UDP forward on its own: a flow that only sends is not idle, and each flow has one session. */
class UdpPortForwardTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private final TestPki pki = TestPki.shared();

    /**
     * A local source that keeps sending to a destination that never answers keeps one flow and one server session:
     * idle means neither side sent for the idle timeout (the forward used to end the flow when only replies
     * stopped, and the next datagram opened a new session).
     */
    @Test
    void flowThatOnlySends_staysOneSession_pastTheIdleTimeout() throws Exception {
        Duration idle = Duration.ofMillis(800);
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (UdpDestination sink = UdpDestination.scripted();
             StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                     .udp(loopback).build());
             StreamClient client = StreamClient.create(StreamClientOptions.builder(server.udpAddress(),
                     pki.clientCredentials()).handshakeTimeout(WAIT).build());
             PortForward forward = client.forwardUdp(Destination.of(sink.host(), sink.port()), loopback, idle);
             DatagramChannel local = DatagramChannel.open()) {
            local.connect(forward.address());
            CountDownLatch never = new CountDownLatch(1);
            for (int i = 0; i < 8; i++) { // 8 x 300 ms: three idle timeouts without a reply
                local.write(ByteBuffer.wrap(new byte[] {(byte) i}));
                assertThat(sink.take(WAIT).data()).containsExactly((byte) i);
                assertThat(never.await(300, TimeUnit.MILLISECONDS)).isFalse(); // a slow sender
            }
            assertThat(sink.sourceCount()).as("server sessions (one source socket each)").isEqualTo(1);
        }
    }
}

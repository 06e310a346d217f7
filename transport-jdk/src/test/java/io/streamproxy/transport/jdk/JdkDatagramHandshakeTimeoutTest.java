package io.streamproxy.transport.jdk;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.testkit.TestPki;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A DTLS handshake that runs out of time says where it stood: what came back, how often it retransmitted. */
class JdkDatagramHandshakeTimeoutTest {

    @Test
    void aSilentServer_endsTheHandshakeAtItsDeadline_withWhatCameBackAndTheWaitsThatTimedOut() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             StreamClient client = StreamClient.create(StreamClientOptions.builder(
                     (InetSocketAddress) silent.getLocalSocketAddress(), TestPki.shared().clientCredentials())
                     .transport("jdk").handshakeTimeout(Duration.ofMillis(1500)).build())) {
            // the first retransmission is due after 1 s, so at least one went out before the deadline
            assertThatThrownBy(() -> client.openUdp("127.0.0.1", 9))
                    .isInstanceOf(SocketTimeoutException.class)
                    .hasMessageContaining("took longer than 1500ms")
                    .hasMessageContaining("(0 datagrams from the peer, ")
                    .hasMessageMatching("(?s).*\\b[1-9][0-9]* retransmissions of ours, engine NEED_UNWRAP.*");
        }
    }
}

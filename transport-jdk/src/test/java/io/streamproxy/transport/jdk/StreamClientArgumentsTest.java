package io.streamproxy.transport.jdk;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Destination;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.testkit.TestPki;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What {@link StreamClient} refuses before it asks a transport for anything. */
class StreamClientArgumentsTest {
    @Test
    void aUdpForwardWithAZeroIdleTimeout_isRefused_insteadOfEndingEveryFlowAtOnce() throws Exception {
        try (StreamClient client = StreamClient.create(StreamClientOptions.builder(
                new InetSocketAddress("127.0.0.1", 1), TestPki.shared().clientCredentials()).build())) {
            assertThatThrownBy(() -> client.forwardUdp(Destination.of("127.0.0.1", 53),
                    new InetSocketAddress("127.0.0.1", 0), Duration.ZERO))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("idleTimeout must be positive, was 0s");
        }
    }
}

package io.streamproxy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UdpClientTransportTest {
    @Test
    void aForwardsIdleTimeout_mustBePositive() {
        assertThat(UdpClientTransport.checkIdleTimeout(Duration.ofMinutes(5))).isEqualTo(Duration.ofMinutes(5));
        assertThatThrownBy(() -> UdpClientTransport.checkIdleTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("idleTimeout must be positive, was 0s");
        assertThatThrownBy(() -> UdpClientTransport.checkIdleTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}

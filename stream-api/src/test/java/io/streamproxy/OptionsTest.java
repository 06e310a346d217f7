package io.streamproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class OptionsTest {

    @Test
    void destination_validatesItsParts() {
        assertThat(Destination.of("::1", 22).toString()).isEqualTo("[::1]:22");
        assertThat(Destination.of("example.com", 443).toString()).isEqualTo("example.com:443");
        assertThatThrownBy(() -> Destination.of("", 1)).hasMessageContaining("empty");
        assertThatThrownBy(() -> Destination.of("h", 0)).hasMessageContaining("1..65535");
        assertThatThrownBy(() -> Destination.of("h", 65536)).hasMessageContaining("1..65535");
        assertThatThrownBy(() -> Destination.of("x".repeat(256), 1)).hasMessageContaining("256 bytes");
    }

    @Test
    void durationsMustBePositive() {
        assertThatThrownBy(() -> StreamServerOptions.positive(Duration.ZERO, "headerTimeout"))
                .hasMessageContaining("headerTimeout must be positive");
        assertThatThrownBy(() -> StreamServerOptions.atLeastOne(0, "maxSessions"))
                .hasMessageContaining("maxSessions must be at least 1");
    }
}

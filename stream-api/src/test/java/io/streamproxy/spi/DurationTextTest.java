package io.streamproxy.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationTextTest {
    @Test
    void wordsADuration_asTheOptionsTakeIt_inTheLargestExactUnit() {
        assertThat(DurationText.of(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(DurationText.of(Duration.ofMillis(800))).isEqualTo("800ms");
        assertThat(DurationText.of(Duration.ofSeconds(10))).isEqualTo("10s");
        assertThat(DurationText.of(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(DurationText.of(Duration.ofMinutes(5))).isEqualTo("5m");
        assertThat(DurationText.of(Duration.ofHours(2))).isEqualTo("2h");
        assertThat(DurationText.of(Duration.ZERO)).isEqualTo("0s");
    }

    @Test
    void whatIsFinerThanAMillisecond_isNeverRounded_andANegativeOneIsAsTheJdkWritesIt() {
        assertThat(DurationText.of(Duration.ofNanos(250_000))).isEqualTo("250us");
        assertThat(DurationText.of(Duration.ofNanos(1_500_000))).isEqualTo("1500us");
        assertThat(DurationText.of(Duration.ofNanos(999))).isEqualTo("999ns");
        assertThat(DurationText.of(Duration.ofSeconds(10, 1))).isEqualTo("10000000001ns");
        assertThat(DurationText.of(Duration.ofSeconds(-1))).isEqualTo("PT-1S");
    }
}

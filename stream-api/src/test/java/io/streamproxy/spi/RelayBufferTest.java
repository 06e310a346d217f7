package io.streamproxy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RelayBufferTest {
    @Test
    void startsSmall_andStaysSmall_whileReadsDoNotFillIt() {
        RelayBuffer buffer = new RelayBuffer(RelayBuffer.TCP);
        byte[] first = buffer.array();
        assertThat(first).hasSize(RelayBuffer.FIRST);
        for (int i = 0; i < 1000; i++) {
            buffer.read(1024); // an interactive tunnel: 1 KiB messages
        }
        buffer.read(-1);
        buffer.read(0);
        assertThat(buffer.array()).isSameAs(first);
    }

    @Test
    void doublesOnEachFullRead_upToItsMaximum_andNeverShrinks() {
        RelayBuffer buffer = new RelayBuffer(RelayBuffer.TCP);
        int[] sizes = new int[6];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = buffer.array().length;
            buffer.read(buffer.array().length); // a bulk transfer fills every read
        }
        assertThat(sizes).containsExactly(4096, 8192, 16384, 32768, 65536, 65536);
        buffer.read(100);
        assertThat(buffer.array()).hasSize(RelayBuffer.TCP);
    }

    @Test
    void aTlsSide_stopsAtOneRecord() {
        RelayBuffer buffer = new RelayBuffer(RelayBuffer.TLS_RECORD);
        for (int i = 0; i < 10; i++) {
            buffer.read(buffer.array().length);
        }
        assertThat(buffer.array()).hasSize(16 * 1024);
    }

    @Test
    void aMaximumBelowTheFirstSize_isRefused() {
        assertThatThrownBy(() -> new RelayBuffer(1024)).isInstanceOf(IllegalArgumentException.class);
    }
}

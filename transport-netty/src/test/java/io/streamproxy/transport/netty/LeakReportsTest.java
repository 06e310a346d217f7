package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The leak guard sees a buffer that was collected without being released (so that a green build means none was). */
class LeakReportsTest {
    @Test
    void aBufferCollectedUnreleased_isReported() {
        assertThat(ResourceLeakDetector.getLevel()).as("the pom runs this module's tests with every buffer tracked")
                .isEqualTo(ResourceLeakDetector.Level.PARANOID);
        // a leak an earlier class left that surfaces only now fails here, as the guard after this class would
        assertThat(LeakReports.collect()).as("leaks reported before this test").isEmpty();
        leakOne();
        List<String> reports = new ArrayList<>();
        // the reference is queued by the JVM's reference handler after a collection; bounded by collections
        for (int i = 0; i < 200 && reports.isEmpty(); i++) {
            reports.addAll(LeakReports.collect());
        }
        assertThat(reports).as("reports after the leaked buffer was collected").hasSize(1);
        assertThat(reports.get(0)).contains("LEAK").contains("leakOne");
    }

    private static void leakOne() {
        ByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42); // never released, and unreachable on return
    }
}

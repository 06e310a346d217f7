package io.streamproxy.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.event.EventRecordingLogger;
import org.slf4j.event.Level;
import org.slf4j.event.SubstituteLoggingEvent;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.SubstituteLogger;

class FailureRunLogTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final String EMFILE = "java.io.IOException: Too many open files";

    private final Queue<SubstituteLoggingEvent> events = new ArrayDeque<>();
    private final EventRecordingLogger log = new EventRecordingLogger(new SubstituteLogger("f", events, false), events);
    private final FailureRunLog accepts = new FailureRunLog(log, "TCP stream server on /127.0.0.1:8890", "accept");

    private List<String> at(Level level) {
        return events.stream().filter(e -> e.getLevel() == level)
                .map(e -> MessageFormatter.basicArrayFormat(e.getMessage(), e.getArgumentArray())).toList();
    }

    @Test
    void aListenerFlappingAtItsDescriptorLimit_saysAWarningAndAnInfoAMinute_notOneForEveryFlap() {
        long t = 0; // nanoTime may be anything, zero included
        for (int flap = 0; flap < 200; flap++) { // 100 s of one accept per closed connection, twice a second
            accepts.failed(null, EMFILE, " (trying again every 100 ms)", "", t);
            accepts.failed(null, EMFILE, " (trying again every 100 ms)", "", t + SECOND / 10);
            accepts.succeeded("");
            t += SECOND / 2;
        }
        assertThat(at(Level.WARN)).containsExactly(
                "TCP stream server on /127.0.0.1:8890: accept failed: " + EMFILE + " (trying again every 100 ms)",
                "TCP stream server on /127.0.0.1:8890: accept failed: " + EMFILE + " (trying again every 100 ms)");
        assertThat(at(Level.INFO)).containsExactly(
                "TCP stream server on /127.0.0.1:8890: accepts work again after 2 failed attempts",
                "TCP stream server on /127.0.0.1:8890: accepts work again after 2 failed attempts");

        events.clear();
        accepts.failed(null, "java.io.IOException: another", "", "", t);
        assertThat(at(Level.WARN)).as("a new reason is said at once").hasSize(1);
    }

    @Test
    void aSuccessOutsideARun_saysNothing() {
        assertThat(accepts.succeeded("")).isZero();
        assertThat(events).isEmpty();
    }
}

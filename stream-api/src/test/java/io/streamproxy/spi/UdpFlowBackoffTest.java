package io.streamproxy.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
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

class UdpFlowBackoffTest {
    private static final InetSocketAddress SOURCE = new InetSocketAddress("127.0.0.1", 40000);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    /** What was logged, as SLF4J's own recording logger keeps it. */
    private final Queue<SubstituteLoggingEvent> events = new ArrayDeque<>();
    private final EventRecordingLogger log = new EventRecordingLogger(new SubstituteLogger("f", events, false), events);
    private final UdpFlowBackoff backoff = new UdpFlowBackoff(log, "UDP forward 127.0.0.1:5353 -> db:53");

    /** The lines logged at a level, formatted. */
    private List<String> at(Level level) {
        return events.stream().filter(e -> e.getLevel() == level)
                .map(e -> level + " " + MessageFormatter.basicArrayFormat(e.getMessage(), e.getArgumentArray()))
                .toList();
    }

    @Test
    void afterFailures_newFlowsWait_200msDoubling_upTo5s() {
        long t = 1_000_000 * MS;
        assertThat(backoff.mayOpen(t)).isTrue();
        long[] waits = {200, 400, 800, 1600, 3200, 5000, 5000};
        for (long wait : waits) {
            backoff.failed(SOURCE, "server UDP port unreachable", t);
            assertThat(backoff.mayOpen(t + (wait - 1) * MS)).as("within %d ms", wait).isFalse();
            assertThat(backoff.mayOpen(t + wait * MS)).as("after %d ms", wait).isTrue();
            t += wait * MS;
        }
        backoff.succeeded();
        backoff.failed(SOURCE, "server UDP port unreachable", t);
        assertThat(backoff.mayOpen(t + 200 * MS)).as("a success starts over").isTrue();
    }

    @Test
    void aRunOfFailures_isOneWarning_aNewReasonAnother_andTheRecoveryOneInfo() {
        long t = 0;
        for (int i = 0; i < 50; i++) {
            backoff.failed(SOURCE, "certificate refused: the server answered with alert unknown_ca", t);
            backoff.mayOpen(t + MS); // a datagram of a new source, dropped
            t += 100 * MS;
        }
        assertThat(at(Level.WARN)).hasSize(1);
        assertThat(at(Level.WARN).get(0)).contains("flow from /127.0.0.1:40000 failed: certificate refused")
                .contains("new flows wait 200ms, up to 5s while it fails");
        backoff.failed(SOURCE, "server UDP port unreachable", t);
        assertThat(at(Level.WARN)).as("a new reason").hasSize(2);
        backoff.failed(SOURCE, "server UDP port unreachable", t + TimeUnit.MINUTES.toNanos(1));
        assertThat(at(Level.WARN)).as("a reminder a minute on").hasSize(3);
        assertThat(at(Level.WARN).get(2)).contains("still failing, 52 attempts in a row, 50 datagrams");
        backoff.succeeded();
        backoff.succeeded();
        assertThat(at(Level.INFO)).containsExactly(
                "INFO UDP forward 127.0.0.1:5353 -> db:53: flows work again after 52 failed attempts "
                        + "(50 datagrams of new flows dropped meanwhile)");
    }

    @Test
    void aFlowTheServerEndsAtOnceWithNoReply_failed_otherEndsDidNot() {
        long opened = 0;
        backoff.ended(SOURCE, opened, false, UdpFlowBackoff.SERVER_ENDED, opened + 50 * MS);
        assertThat(backoff.mayOpen(opened + 100 * MS)).as("a refused header backs off").isFalse();

        UdpFlowBackoff replied = new UdpFlowBackoff(log, "f");
        replied.ended(SOURCE, opened, true, UdpFlowBackoff.SERVER_ENDED, opened + 50 * MS);
        assertThat(replied.mayOpen(opened + 100 * MS)).as("a flow that had replies").isTrue();

        UdpFlowBackoff late = new UdpFlowBackoff(log, "f");
        late.ended(SOURCE, opened, false, UdpFlowBackoff.SERVER_ENDED, opened + 6000 * MS);
        assertThat(late.mayOpen(opened + 6001 * MS)).as("ended after 5 s: it worked").isTrue();

        UdpFlowBackoff idle = new UdpFlowBackoff(log, "f");
        idle.failed(SOURCE, "x", opened);
        idle.ended(SOURCE, opened, false, null, opened + 50 * MS);
        assertThat(idle.mayOpen(opened + 100 * MS)).as("ended by the forward: a success").isTrue();
    }
}

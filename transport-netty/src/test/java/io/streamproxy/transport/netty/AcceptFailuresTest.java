package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.streamproxy.testkit.RecordedLogs;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class AcceptFailuresTest {
    @Test
    void failedAccepts_areOneWarningPerRun_andTheRecoveryOneInfo_andReachNoOtherHandler() {
        assertThat(RecordedLogs.isActive()).isTrue();
        EmbeddedChannel listener = new EmbeddedChannel();
        AcceptFailures failures = new AcceptFailures("TCP stream server");
        listener.pipeline().addLast(failures);
        int mark = RecordedLogs.mark();
        for (int i = 0; i < 8; i++) { // Netty's acceptor passes each failed accept on, once a second
            listener.pipeline().fireExceptionCaught(new IOException(
                    "accept(..) failed with error(-24): Too many open files"));
        }
        listener.checkException(); // none reached the pipeline's tail, which logs a WARN with a stack trace each
        failures.accepted();
        failures.accepted();
        List<RecordedLogs.Event> logged = RecordedLogs.since(mark, Level.INFO).stream()
                .filter(e -> e.logger().equals(AcceptFailures.class.getName())).toList();
        assertThat(logged).extracting(RecordedLogs.Event::level).containsExactly(Level.WARN, Level.INFO);
        assertThat(logged.get(0).message()).contains("TCP stream server on ").endsWith("accept failed: accept(..) "
                + "failed with error(-24): Too many open files (accepting again in 1s)");
        assertThat(logged.get(1).message()).endsWith("accepts work again after 8 failed attempts");
        listener.finishAndReleaseAll();
    }
}

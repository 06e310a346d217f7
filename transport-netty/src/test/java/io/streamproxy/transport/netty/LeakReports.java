package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.streamproxy.testkit.RecordedLogs;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.event.Level;

/**
 * Fails a test class after which Netty reported a leaked buffer. stream-proxy's own process runs with Netty's leak
 * detector off, so this module's tests are where a leak is caught: the pom runs them with the detector at
 * {@code paranoid} (every buffer tracked), and this extension, registered for every class of the module, collects
 * garbage after each class, takes and frees a buffer (which makes the detector report what was collected
 * unreleased), and looks for the detector's reports among the recorded logs. A report can surface a class late
 * (garbage is collected when it is), never not at all once the buffer is gone.
 */
public final class LeakReports implements AfterAllCallback {
    private static final String DETECTOR = ResourceLeakDetector.class.getName();
    private static int checked; // recorded events already looked at

    @Override
    public void afterAll(ExtensionContext context) {
        List<String> leaks = collect();
        if (!leaks.isEmpty()) {
            throw new AssertionError("Netty reported " + leaks.size() + " leaked buffer(s) during or before "
                    + context.getDisplayName() + ":\n" + String.join("\n", leaks));
        }
    }

    /** Collects garbage, lets the detector report it, and returns the reports not returned before. */
    static synchronized List<String> collect() {
        if (!RecordedLogs.isActive()) {
            throw new IllegalStateException("leak reports are read from the recording SLF4J provider: run with "
                    + "-Dslf4j.provider=io.streamproxy.testkit.RecordedLogs (the parent pom sets it for tests)");
        }
        System.gc();
        ByteBufAllocator.DEFAULT.directBuffer(1).release(); // the detector reports on a tracked allocation
        ByteBufAllocator.DEFAULT.heapBuffer(1).release();
        List<RecordedLogs.Event> events = RecordedLogs.since(checked);
        checked += events.size();
        List<String> leaks = new ArrayList<>();
        for (RecordedLogs.Event e : events) {
            if (e.logger().equals(DETECTOR) && e.level().toInt() >= Level.ERROR.toInt()) {
                leaks.add(e.message());
            }
        }
        return leaks;
    }
}

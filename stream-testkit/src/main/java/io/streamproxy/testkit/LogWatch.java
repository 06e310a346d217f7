package io.streamproxy.testkit;

import java.util.List;
import org.slf4j.event.Level;

/**
 * Watches {@link RecordedLogs} for events at WARN or above since the last reset: the fuzzers' oracle that junk on the
 * wire is handled as a refusal (logged at DEBUG) and never as a failure of the server.
 */
final class LogWatch {
    private int mark;

    LogWatch() {
        if (!RecordedLogs.isActive()) {
            throw new IllegalStateException("the fuzzers need the recording SLF4J provider: run with "
                    + "-Dslf4j.provider=io.streamproxy.testkit.RecordedLogs (the parent pom sets it for tests)");
        }
        reset();
    }

    void reset() {
        mark = RecordedLogs.mark();
    }

    /**
     * Fails if anything was logged at WARN or above since the last reset, then resets.
     *
     * @param when what the message says about the moment
     */
    void assertQuiet(String when) {
        List<RecordedLogs.Event> warnings = RecordedLogs.since(mark, Level.WARN);
        reset();
        if (!warnings.isEmpty()) {
            AssertionError e = new AssertionError("the server logged " + warnings.size() + " warning(s) or error(s) "
                    + when + ": " + warnings);
            for (RecordedLogs.Event w : warnings) {
                if (w.throwable() != null) {
                    e.addSuppressed(w.throwable());
                }
            }
            throw e;
        }
    }
}

package io.streamproxy.testkit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMDCAdapter;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * An SLF4J provider for test runs that records every event at INFO and above in memory (and prints WARN and ERROR
 * to standard error), so that a test can assert that something was not logged as an error. Tests select it with
 * {@code -Dslf4j.provider=io.streamproxy.testkit.RecordedLogs} (it is deliberately not registered as a service, so
 * that programs using the testkit keep their own SLF4J binding); {@link #isActive()} tells whether it is in use.
 */
public final class RecordedLogs implements SLF4JServiceProvider {
    private static final List<Event> EVENTS = new CopyOnWriteArrayList<>();
    private static final boolean DEBUG = Boolean.getBoolean("streamproxy.test.debug");

    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new BasicMDCAdapter();
    private final ILoggerFactory loggers = RecordingLogger::new;

    /** One logged event. */
    public record Event(Level level, String logger, String message, Throwable throwable) {
        @Override
        public String toString() {
            return level + " " + logger + " - " + message + (throwable == null ? "" : " " + throwable);
        }
    }

    /** Creates the provider (SLF4J does this). */
    public RecordedLogs() {
    }

    /**
     * Tells whether SLF4J uses this provider in this JVM.
     *
     * @return true if events are being recorded
     */
    public static boolean isActive() {
        return LoggerFactory.getLogger(RecordedLogs.class) instanceof RecordingLogger;
    }

    /**
     * Returns a mark to pass to {@link #since(int)}.
     *
     * @return the number of events recorded so far
     */
    public static int mark() {
        return EVENTS.size();
    }

    /**
     * Returns the events recorded after a mark.
     *
     * @param mark a value of {@link #mark()}
     * @return the events since then
     */
    public static List<Event> since(int mark) {
        return List.copyOf(EVENTS.subList(Math.min(mark, EVENTS.size()), EVENTS.size()));
    }

    /**
     * Returns the events at a level or above recorded after a mark.
     *
     * @param mark  a value of {@link #mark()}
     * @param level the lowest level to include
     * @return the matching events
     */
    public static List<Event> since(int mark, Level level) {
        return sinceAtLeast(mark, level);
    }

    /**
     * Waits (without polling: each recorded event wakes the wait) until an event at {@code level} or above that
     * matches has been recorded after a mark, or the timeout passes.
     *
     * @param mark    a value of {@link #mark()}
     * @param level   the lowest level
     * @param matches what the event must satisfy
     * @param timeout the bound on the wait
     * @return the events at {@code level} or above since the mark, when the wait ended
     * @throws InterruptedException if interrupted while waiting
     */
    public static List<Event> await(int mark, Level level, java.util.function.Predicate<Event> matches,
            java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (EVENTS) {
            while (true) {
                List<Event> seen = sinceAtLeast(mark, level);
                long left = deadline - System.nanoTime();
                if (seen.stream().anyMatch(matches) || left <= 0) {
                    return seen;
                }
                EVENTS.wait(Math.max(1, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    private static List<Event> sinceAtLeast(int mark, Level level) {
        return since(mark).stream().filter(e -> e.level().toInt() >= level.toInt()).collect(Collectors.toList());
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return loggers;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    @Override
    public void initialize() {
        // nothing to set up
    }

    private static final class RecordingLogger extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;

        RecordingLogger(String name) {
            this.name = name;
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args,
                                                   Throwable throwable) {
            String message = MessageFormatter.basicArrayFormat(pattern, args);
            EVENTS.add(new Event(level, name, message, throwable));
            synchronized (EVENTS) {
                EVENTS.notifyAll();
            }
            if (level.toInt() >= Level.WARN.toInt() || DEBUG) {
                System.err.println("[" + Thread.currentThread().getName() + "] " + level + " " + name + " - "
                        + message);
                if (throwable != null) {
                    throwable.printStackTrace(System.err);
                }
            }
        }

        @Override
        public boolean isTraceEnabled() {
            return false;
        }

        @Override
        public boolean isDebugEnabled() {
            return DEBUG;
        }

        @Override
        public boolean isInfoEnabled() {
            return true;
        }

        @Override
        public boolean isWarnEnabled() {
            return true;
        }

        @Override
        public boolean isErrorEnabled() {
            return true;
        }
    }
}

package io.streamproxy.internal;

import io.streamproxy.spi.DurationText;
import java.time.Duration;

/**
 * How many lines of one kind of warning a log takes: {@code burst} per window, the rest logged at debug and counted,
 * the count said with the first warning of a later window. For warnings that an authenticated but misbehaving client
 * can repeat thousands of times a second (a reconnect loop to a destination that is down), so that a server's log
 * stays readable without losing the first lines or the total. Thread-safe. Internal: not API.
 */
public final class WarningBudget {
    /**
     * What to do with one warning.
     *
     * @param warn       log it as a warning (else at debug)
     * @param last       it is the window's last warning: say that the rest go to debug
     * @param debugSince warnings logged at debug since the last one logged as a warning: say so first
     */
    public record Spent(boolean warn, boolean last, long debugSince) {
    }

    private static final Spent DEBUG = new Spent(false, false, 0);

    private final int burst;
    private final long windowNanos;
    private boolean started;
    private long windowStart;
    private int used;
    private long suppressed;

    /**
     * Creates a budget.
     *
     * @param burst       warnings per window
     * @param windowNanos the window
     */
    public WarningBudget(int burst, long windowNanos) {
        this.burst = burst;
        this.windowNanos = windowNanos;
    }

    /**
     * Spends one warning.
     *
     * @param now {@link System#nanoTime()}
     * @return what to do with it
     */
    public synchronized Spent spend(long now) {
        if (!started || now - windowStart >= windowNanos) {
            started = true;
            windowStart = now;
            used = 0;
        }
        if (used >= burst) {
            suppressed++;
            return DEBUG;
        }
        used++;
        long before = suppressed;
        suppressed = 0;
        return new Spent(true, used == burst, before);
    }

    /**
     * The window in words.
     *
     * @return for example "10s"
     */
    public String window() {
        return DurationText.of(Duration.ofNanos(windowNanos));
    }
}

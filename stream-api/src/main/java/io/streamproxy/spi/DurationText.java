package io.streamproxy.spi;

import java.time.Duration;

/**
 * A duration in the words of the command line's options ({@code 500ms}, {@code 20s}, {@code 2m}, {@code 1h}), for
 * every message an operator reads: log lines, the reasons of the access log and of refusals, and the errors of
 * timeouts, which would otherwise say {@code PT0.5S}. Whole hours, minutes and seconds are written in the largest of
 * them that is exact, anything finer in milliseconds, and a duration finer than that in microseconds or nanoseconds,
 * so that no duration is rounded. For transports and forwards to word their own timeouts the same way.
 */
public final class DurationText {
    private DurationText() {
    }

    /**
     * Words a duration.
     *
     * @param d the duration
     * @return for example {@code 1500ms}, {@code 10s}, {@code 5m}, {@code 2h} or {@code 1500us}; a negative one
     *         as {@link Duration#toString()}
     */
    public static String of(Duration d) {
        if (d.isNegative()) {
            return d.toString();
        }
        int finer = d.getNano() % 1_000_000;
        if (finer != 0) {
            return finer % 1000 == 0 ? d.toNanos() / 1000 + "us" : d.toNanos() + "ns";
        }
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s % 3600 == 0 && s > 0) {
            return s / 3600 + "h";
        }
        return s % 60 == 0 && s > 0 ? s / 60 + "m" : s + "s";
    }
}

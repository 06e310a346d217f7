package io.streamproxy.spi;

import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * The log of a port forward's failures, in runs, for every transport's TCP and UDP forwards: a local client that
 * reconnects in a loop while the server is down (or refuses this client's certificate) would otherwise log a line
 * per connection, thousands a second. The first failure of a run is logged at WARN with its reason, and so is a new
 * reason; the rest at most once a minute with the count (the others at debug); a success after failures ends the
 * run with one INFO line. Thread-safe.
 */
public final class ForwardFailureLog {
    private static final long REMINDER_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Logger log;
    private final String forward;
    private final String what;
    private int failures;
    private String lastReason;
    private long lastWarned;

    /**
     * Creates the log of one forward.
     *
     * @param log     where its lines go (the forward's logger)
     * @param forward names the forward in them ({@code "UDP forward 127.0.0.1:5353 -> db:53"})
     * @param what    what fails, singular ({@code "flow"}, {@code "connection"})
     */
    public ForwardFailureLog(Logger log, String forward, String what) {
        this.log = log;
        this.forward = forward;
        this.what = what;
    }

    /**
     * One failure.
     *
     * @param source    the local source whose connection or flow failed
     * @param reason    why, in words
     * @param meanwhile said after the reason when a run (or a new reason) starts: what the forward does, or ""
     * @param counted   said after the count on a reminder: what else was counted, or ""
     * @param now       {@link System#nanoTime()}
     * @return the failures in a row, this one included
     */
    public synchronized int failed(SocketAddress source, String reason, String meanwhile, String counted, long now) {
        failures++;
        if (failures == 1 || !reason.equals(lastReason)) {
            log.warn("{}: {} from {} failed: {}{}", forward, what, source, reason, meanwhile);
            lastWarned = now;
        } else if (now - lastWarned >= REMINDER_NANOS) {
            log.warn("{}: still failing, {} attempts in a row{}; last: {}", forward, failures, counted, reason);
            lastWarned = now;
        } else {
            log.debug("{}: {} from {} failed: {}", forward, what, source, reason);
        }
        lastReason = reason;
        return failures;
    }

    /**
     * A success: ends a run of failures, logged once.
     *
     * @param detail said after the count on the INFO line, or ""
     * @return the failures the run had (0 when there was none)
     */
    public synchronized int succeeded(String detail) {
        int had = failures;
        if (had > 0) {
            log.info("{}: {}s work again after {} failed attempts{}", forward, what, had, detail);
        }
        failures = 0;
        lastReason = null;
        return had;
    }

    /** @return the failures in a row so far */
    public synchronized int failuresInARow() {
        return failures;
    }
}

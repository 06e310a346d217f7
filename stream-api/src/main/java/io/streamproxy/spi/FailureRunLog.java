package io.streamproxy.spi;

import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * The log of failures that come in runs, for every transport's forwards and listeners: a local client that
 * reconnects in a loop while the server is down (or refuses this client's certificate), or a listener out of file
 * descriptors, would otherwise log a line per attempt, thousands a second. The first failure of a run is logged at
 * WARN with its reason, and so is a new reason; the rest at most once a minute with the count (the others at debug);
 * a success after failures ends the run with one INFO line. A run that starts again within a minute of a warning,
 * for the reason the last run ended on, is the same trouble flapping: it is logged at debug, its end too, so that
 * flapping says at most a WARN and an INFO a minute. A success outside a run costs one volatile read.
 * Thread-safe.
 */
public final class FailureRunLog {
    private static final long REMINDER_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Logger log;
    private final String forward;
    private final String what;
    private int failures;
    private volatile boolean failing;
    private String lastReason;
    private String previousReason;
    private long lastWarned;
    private boolean warned;
    private boolean runWarned;

    /**
     * Creates the log of one forward or listener.
     *
     * @param log     where its lines go (the forward's logger)
     * @param forward names the forward or listener in them ({@code "UDP forward 127.0.0.1:5353 -> db:53"})
     * @param what    what fails, singular ({@code "flow"}, {@code "connection"}, {@code "accept"})
     */
    public FailureRunLog(Logger log, String forward, String what) {
        this.log = log;
        this.forward = forward;
        this.what = what;
    }

    /**
     * One failure.
     *
     * @param source    the local source whose connection or flow failed, or null (a listener's accept)
     * @param reason    why, in words
     * @param meanwhile said after the reason when a run (or a new reason) starts: what the forward does, or ""
     * @param counted   said after the count on a reminder: what else was counted, or ""
     * @param now       {@link System#nanoTime()}
     * @return the failures in a row, this one included
     */
    public synchronized int failed(SocketAddress source, String reason, String meanwhile, String counted, long now) {
        failures++;
        failing = true;
        String from = source == null ? "" : " from " + source;
        // a run that starts again for the reason the last one had, within a minute of a warning, is the same
        // trouble flapping (a listener at its descriptor limit accepts one connection whenever one closes)
        boolean flapping = failures == 1 && reason.equals(previousReason) && warned
                && now - lastWarned < REMINDER_NANOS;
        if (!flapping && (failures == 1 || !reason.equals(lastReason))) {
            log.warn("{}: {}{} failed: {}{}", forward, what, from, reason, meanwhile);
            warned();
            lastWarned = now;
        } else if (now - lastWarned >= REMINDER_NANOS) {
            log.warn("{}: still failing, {} attempts in a row{}; last: {}", forward, failures, counted, reason);
            warned();
            lastWarned = now;
        } else {
            log.debug("{}: {}{} failed: {}", forward, what, from, reason);
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
    public int succeeded(String detail) {
        if (!failing) {
            return 0;
        }
        synchronized (this) {
            return endRun(detail);
        }
    }

    private int endRun(String detail) {
        failing = false;
        int had = failures;
        if (had > 0 && runWarned) {
            log.info("{}: {}s work again after {} failed attempts{}", forward, what, had, detail);
        } else if (had > 0) {
            log.debug("{}: {}s work again after {} failed attempts{}", forward, what, had, detail);
        }
        failures = 0;
        previousReason = lastReason;
        lastReason = null;
        runWarned = false;
        return had;
    }

    private void warned() {
        warned = true;
        runWarned = true;
    }

    /** @return the failures in a row so far */
    public synchronized int failuresInARow() {
        return failures;
    }
}

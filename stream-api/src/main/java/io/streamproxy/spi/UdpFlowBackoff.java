package io.streamproxy.spi;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * The back-off of a UDP port forward's new flows while their tunnels fail to set up, for every transport's forward
 * (the SPI's default and a transport's own). A local source that keeps sending while the server is down, refuses
 * this client's certificate or refuses the destination would otherwise start a DTLS handshake per datagram, and log
 * a line per datagram. After a failure, no new flow opens for 200 ms, doubling with each failure in a row up to
 * {@value #MAX_BACKOFF_MILLIS} ms, and the datagrams of sources without a flow are dropped meanwhile (counted);
 * flows already open go on. The first failure of a run is logged at WARN with its reason and so is a new reason, the
 * rest at most once a minute with the count; a flow that relays again ends the run, logged once. A failure is a
 * tunnel that did not open, or one the server ended within {@value #EARLY_END_MILLIS} ms of opening with no datagram
 * back (a refused header); a reply, or a flow that outlived that, is a success. Thread-safe; called per flow, never
 * per datagram of an open flow.
 */
public final class UdpFlowBackoff {
    /** The longest wait between two attempts while set-ups fail. */
    public static final long MAX_BACKOFF_MILLIS = 5000;
    /** A flow the server ends within this long after it opened, with no datagram back, failed to set up. */
    public static final long EARLY_END_MILLIS = 5000;
    /** The cause of a flow the server ended (close_notify) rather than one that failed. */
    public static final String SERVER_ENDED = "the server ended the tunnel right after it opened, with no datagram "
            + "back: it refused the destination, or it is draining (its access log says which)";
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final FailureRunLog failures;
    private long openAfter;
    private long dropped;

    /**
     * Creates the back-off of one forward.
     *
     * @param log     where its lines go (the forward's logger)
     * @param forward names the forward in them ({@code "UDP forward 127.0.0.1:5353 -> db:53"})
     */
    public UdpFlowBackoff(Logger log, String forward) {
        this.failures = new FailureRunLog(log, forward, "flow");
    }

    /**
     * Tells whether a new flow may open its tunnel now; if not, the datagram that would have opened it is dropped
     * and counted.
     *
     * @param now {@link System#nanoTime()}
     * @return true outside a back-off
     */
    public synchronized boolean mayOpen(long now) {
        if (failures.failuresInARow() == 0 || now - openAfter >= 0) {
            return true;
        }
        dropped++;
        return false;
    }

    /**
     * A flow's tunnel did not open, or it ended early ({@link #ended}).
     *
     * @param source the local source of the flow
     * @param reason why, in words
     * @param now    {@link System#nanoTime()}
     */
    public synchronized void failed(SocketAddress source, String reason, long now) {
        int inARow = failures.failuresInARow() + 1;
        long backoff = Math.min(FIRST_BACKOFF_NANOS << Math.min(inARow - 1, 20),
                TimeUnit.MILLISECONDS.toNanos(MAX_BACKOFF_MILLIS));
        openAfter = now + backoff;
        failures.failed(source, reason, "; new flows wait " + DurationText.of(Duration.ofNanos(backoff)) + ", up to "
                + DurationText.of(Duration.ofMillis(MAX_BACKOFF_MILLIS)) + " while it fails",
                ", " + dropped + " datagrams of new flows dropped meanwhile", now);
    }

    /**
     * A flow relayed: its first datagram came back, or it lived past {@link #EARLY_END_MILLIS}. Ends a run of
     * failures.
     */
    public synchronized void succeeded() {
        failures.succeeded(" (" + dropped + " datagrams of new flows dropped meanwhile)");
        dropped = 0;
    }

    /**
     * A flow's tunnel ended. It failed to set up if the server ended it, or it failed, within
     * {@link #EARLY_END_MILLIS} of opening with no datagram back; otherwise it worked, if no reply said so already.
     *
     * @param source   the local source of the flow
     * @param openedAt when its tunnel opened ({@link System#nanoTime()})
     * @param replied  whether a datagram came back (then {@link #succeeded} was called)
     * @param cause    null when the forward ended it (idle); otherwise the failure, or {@link #SERVER_ENDED}
     * @param now      {@link System#nanoTime()}
     */
    public void ended(SocketAddress source, long openedAt, boolean replied, String cause, long now) {
        if (replied) {
            return;
        }
        if (cause != null && now - openedAt < TimeUnit.MILLISECONDS.toNanos(EARLY_END_MILLIS)) {
            failed(source, cause, now);
        } else {
            succeeded();
        }
    }
}

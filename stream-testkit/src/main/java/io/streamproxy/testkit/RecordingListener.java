package io.streamproxy.testkit;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A {@link SessionListener} that queues events so that a test can wait for them with a bound. */
public final class RecordingListener implements SessionListener {
    /** A refusal. */
    public record Refusal(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
    }

    /** A closed session with its byte counts and, when the server reported it, how it ended (else null). */
    public record Closed(SessionInfo session, long bytesToDestination, long bytesFromDestination, SessionEnd end) {
    }

    private final BlockingQueue<SessionInfo> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<Closed> closed = new LinkedBlockingQueue<>();
    private final BlockingQueue<Refusal> refusals = new LinkedBlockingQueue<>();
    private final BlockingQueue<SocketAddress> probes = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> drops = new LinkedBlockingQueue<>();
    private final AtomicInteger openedCount = new AtomicInteger();
    private final AtomicInteger refusedCount = new AtomicInteger();

    @Override
    public void sessionOpened(SessionInfo session) {
        openedCount.incrementAndGet();
        opened.add(session);
    }

    @Override
    public void sessionClosed(SessionInfo session, long bytesToDestination, long bytesFromDestination) {
        closed.add(new Closed(session, bytesToDestination, bytesFromDestination, null));
    }

    @Override
    public void sessionEnded(SessionInfo session, SessionEnd end) {
        closed.add(new Closed(session, end.bytesToDestination(), end.bytesFromDestination(), end));
    }

    private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.AtomicLong>
            unauthenticatedDrops = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        refusedCount.incrementAndGet();
        refusals.add(new Refusal(protocol, client, reason, detail));
    }

    @Override
    public void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
        unauthenticatedDrops.computeIfAbsent(reason, r -> new java.util.concurrent.atomic.AtomicLong())
                .incrementAndGet();
    }

    /**
     * Returns how many datagrams from unauthenticated peers were dropped for a reason.
     *
     * @param reason the reason text
     * @return the count so far
     */
    public long unauthenticatedDrops(String reason) {
        java.util.concurrent.atomic.AtomicLong n = unauthenticatedDrops.get(reason);
        return n == null ? 0 : n.get();
    }

    /** @return every reason for which unauthenticated datagrams were dropped, with its count */
    public java.util.Map<String, Long> unauthenticatedDrops() {
        java.util.Map<String, Long> m = new java.util.TreeMap<>();
        unauthenticatedDrops.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    @Override
    public void datagramDropped(SessionInfo session, int size, String reason) {
        drops.add(size + " bytes: " + reason);
    }

    /**
     * Waits for the next dropped datagram.
     *
     * @param timeout the bound
     * @return its size and reason
     * @throws AssertionError if none comes in time
     */
    public String awaitDrop(Duration timeout) {
        return take(drops, timeout, "dropped datagram");
    }

    @Override
    public void healthProbe(Protocol protocol, SocketAddress client) {
        probes.add(client);
    }

    private final BlockingQueue<Boolean> handshakes = new LinkedBlockingQueue<>();

    @Override
    public void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
        handshakes.add(resumed);
    }

    /**
     * Waits for the next handshake the server accepted.
     *
     * @param timeout the bound
     * @return true if the client resumed a session, false for a full handshake
     * @throws AssertionError if none comes in time
     */
    public boolean awaitHandshake(Duration timeout) {
        return take(handshakes, timeout, "accepted handshake");
    }

    /**
     * Waits for the next refusal.
     *
     * @param timeout the bound
     * @return the refusal
     * @throws AssertionError if none comes in time
     */
    public Refusal awaitRefusal(Duration timeout) {
        return take(refusals, timeout, "refusal");
    }

    /**
     * Waits a bounded time for the next closed session.
     *
     * @param timeout the bound
     * @return the event, or null if none came in time
     */
    public Closed pollClosed(Duration timeout) {
        try {
            return closed.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for a closed session", e);
        }
    }

    /**
     * Waits for the next closed session.
     *
     * @param timeout the bound
     * @return the session and its byte counts
     * @throws AssertionError if none comes in time
     */
    public Closed awaitClosed(Duration timeout) {
        return take(closed, timeout, "closed session");
    }

    /**
     * Waits for the next opened session.
     *
     * @param timeout the bound
     * @return the session
     * @throws AssertionError if none comes in time
     */
    public SessionInfo awaitOpened(Duration timeout) {
        return take(opened, timeout, "opened session");
    }

    /**
     * Waits for the next health probe.
     *
     * @param timeout the bound
     * @return the prober's address
     * @throws AssertionError if none comes in time
     */
    public SocketAddress awaitProbe(Duration timeout) {
        return take(probes, timeout, "health probe");
    }

    /** @return sessions opened so far */
    public int openedCount() {
        return openedCount.get();
    }

    /** @return refusals so far */
    public int refusedCount() {
        return refusedCount.get();
    }

    /** @return the refusals not yet awaited, for a message */
    public List<Refusal> refusals() {
        return List.copyOf(refusals);
    }

    private static <T> T take(BlockingQueue<T> queue, Duration timeout, String what) {
        try {
            T t = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (t == null) {
                throw new AssertionError("no " + what + " reported within " + timeout);
            }
            return t;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for a " + what, e);
        }
    }
}

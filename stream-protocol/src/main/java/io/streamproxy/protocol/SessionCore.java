package io.streamproxy.protocol;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decisions of one server listener (one protocol), shared by all its tunnels and free of I/O: the settings,
 * the admission counters (handshakes under way, sessions relaying), session ids and the listener every event goes
 * to. A transport makes one per listener and asks it for a {@link TunnelSession} for each accepted connection (TCP)
 * or new client address (UDP); the core admits it within the handshake limits of the server and of the client's
 * source (a TCP connection over them waits for a slot; a UDP ClientHello is dropped); from then on the tunnel's state machine decides and the transport only carries out
 * its steps. Admission is one critical section, so that two transport threads can never admit past a limit between
 * them. Thread-safe.
 */
public final class SessionCore {
    private final Protocol protocol;
    private final StreamServerOptions options;
    private final SessionListener listener;
    private static final int MIN_WAITING = 1024;

    private final Object admission = new Object();
    private final Map<Object, Integer> perSource = new HashMap<>();
    private final ArrayDeque<TunnelSession> waiting = new ArrayDeque<>();
    private final int maxWaiting;
    private final LongSupplier clock;
    private int handshaking;
    private volatile Runnable capacitySignal;
    private final AtomicInteger relaying = new AtomicInteger();
    private final Map<Object, Integer> relayingPerSource = new HashMap<>();
    private final TokenBucket rate;
    private final Map<Object, TokenBucket> sourceRates;
    /** Sources whose rate buckets are remembered, at most (the least recently seen is forgotten first). */
    static final int MAX_RATE_SOURCES = 65536;
    private final AtomicLong ids = new AtomicLong();
    private volatile boolean closing;
    private volatile boolean draining;

    /**
     * Creates the core of one listener.
     *
     * @param protocol TCP or UDP
     * @param options  the server settings (timeouts, limits, policy)
     * @param listener where events go; the transport passes one that also logs and that survives a throwing user
     *                 listener (see the internal {@code SessionEvents})
     */
    public SessionCore(Protocol protocol, StreamServerOptions options, SessionListener listener) {
        this(protocol, options, listener, System::nanoTime);
    }

    /** With a clock of its own, for tests: the time a waiting connection gets its slot. */
    SessionCore(Protocol protocol, StreamServerOptions options, SessionListener listener, LongSupplier clock) {
        this.protocol = protocol;
        this.options = options;
        this.listener = listener;
        this.clock = clock;
        // room for a burst that a transport accepted before it could pause (an event loop accepts in batches)
        this.maxWaiting = Math.max(options.maxHandshakes() * 4, MIN_WAITING);
        this.rate = options.handshakeRate() > 0
                ? new TokenBucket(options.handshakeRate(), options.handshakeBurst()) : null;
        this.sourceRates = options.handshakeRatePerSource() > 0
                ? new java.util.LinkedHashMap<>(1024, 0.75f, true) {
                    private static final long serialVersionUID = 1L;

                    @Override
                    protected boolean removeEldestEntry(Map.Entry<Object, TokenBucket> eldest) {
                        return size() > MAX_RATE_SOURCES;
                    }
                } : null;
    }

    /** Takes a token of the server's and the source's rate buckets; null if allowed, else the drop reason. */
    private String overRate(Object source, long now) {
        if (sourceRates != null) {
            TokenBucket b = sourceRates.get(source);
            if (b == null) {
                b = new TokenBucket(options.handshakeRatePerSource(), options.handshakeBurstPerSource());
                sourceRates.put(source, b);
            }
            if (!b.tryTake(now)) {
                return DROP_SOURCE_RATE;
            }
        }
        if (rate != null && !rate.tryTake(now)) {
            return DROP_RATE;
        }
        return null;
    }

    private String rateDetail(String over) {
        return over == DROP_RATE ? "over the rate of " + options.handshakeRate() + " handshakes/s (burst "
                + options.handshakeBurst() + ")" : "over the rate of " + options.handshakeRatePerSource()
                + " handshakes/s per source (burst " + options.handshakeBurstPerSource() + ")";
    }

    /**
     * A TCP connection was accepted: admits it within the handshake limits, starting the one deadline that bounds
     * handshake plus header. When a handshake slot is free (of the server, and of the client's source) {@code start}
     * runs at once, on this thread; otherwise the connection waits for one, without a TLS engine, for at most the
     * header timeout (its deadline then starts when it gets the slot), and {@code start} runs on the thread that
     * frees the slot (it must only hand the work to the transport's own threads). A tunnel still waiting at the end
     * of its wait is refused with {@link RefusalReason#CAPACITY} by {@link TunnelSession#tick}, so the transport
     * arms its timer for {@link TunnelSession#nextDeadline()} either way. A transport stops accepting
     * while {@link #saturated()} and resumes on the {@link #onCapacity} signal, so that a burst of clients waits in
     * the listen backlog instead of being refused.
     *
     * @param client the client's address
     * @param now    {@link System#nanoTime()} at accept
     * @param start  begins the handshake of the tunnel
     * @return the tunnel's state machine, or null when refused (the server is closing, or the waiting room is full,
     *         reported); close the connection
     */
    public TunnelSession accept(SocketAddress client, long now, Consumer<TunnelSession> start) {
        if (closing) {
            return null;
        }
        TunnelSession tunnel;
        Object source = sourceKey(client);
        String over;
        synchronized (admission) {
            over = overRate(source, now);
        }
        if (over != null) {
            refused(client, RefusalReason.RATE_LIMITED, rateDetail(over));
            return null;
        }
        synchronized (admission) {
            tunnel = new TunnelSession(this, client, source, now);
            if (fits(source)) {
                hold(source);
                tunnel.admit();
            } else if (waiting.size() < maxWaiting) {
                tunnel.await(start);
                waiting.addLast(tunnel);
                return tunnel;
            } else {
                tunnel = null;
            }
        }
        if (tunnel == null) {
            refused(client, RefusalReason.CAPACITY, "at the limit of " + options.maxHandshakes() + " handshakes and "
                    + maxWaiting + " connections waiting for one");
            return null;
        }
        start.accept(tunnel);
        return tunnel;
    }

    /**
     * Admits a tunnel now or not at all. UDP: a client address sent a ClientHello that proved it owns the address
     * (its cookie matched); over the handshake limits it is dropped (reported to
     * {@link SessionListener#unauthenticatedDropped}, not refused: the client retransmits its ClientHello and is
     * admitted once a slot is free). TCP: a connection whose TLS handshake a host already did (there is nothing to
     * wait for); over the limits it is refused with {@link RefusalReason#CAPACITY}.
     *
     * @param client the client's address
     * @param now    {@link System#nanoTime()}
     * @return the tunnel's state machine, or null (UDP: send nothing; TCP: close the connection)
     */
    public TunnelSession tryAccept(SocketAddress client, long now) {
        if (closing) {
            return null;
        }
        if (draining && protocol == Protocol.UDP) {
            dropped(client, DROP_DRAINING);
            return null;
        }
        Object source = sourceKey(client);
        String full;
        synchronized (admission) {
            String over = fits(source) ? overRate(source, now) : null;
            if (over != null) {
                full = over;
            } else if (fits(source)) {
                hold(source);
                TunnelSession tunnel = new TunnelSession(this, client, source, now);
                tunnel.admit();
                return tunnel;
            } else {
                full = handshaking >= options.maxHandshakes() ? DROP_HANDSHAKE_LIMIT : DROP_SOURCE_LIMIT;
            }
        }
        if (protocol == Protocol.UDP) {
            dropped(client, full);
        } else if (full == DROP_RATE || full == DROP_SOURCE_RATE) {
            refused(client, RefusalReason.RATE_LIMITED, rateDetail(full));
        } else {
            refused(client, RefusalReason.CAPACITY, full == DROP_HANDSHAKE_LIMIT ? "at the limit of "
                    + options.maxHandshakes() + " handshakes" : "at the limit of " + options.maxHandshakesPerSource()
                    + " handshakes per source");
        }
        return null;
    }

    /** A drop reason: the server holds as many unfinished handshakes as it may. */
    public static final String DROP_HANDSHAKE_LIMIT = "handshake limit";
    /** A drop reason: the datagram's source holds as many unfinished handshakes as it may. */
    public static final String DROP_SOURCE_LIMIT = "source handshake limit";
    /** A drop reason: new handshakes came faster than the server's rate. */
    public static final String DROP_RATE = "handshake rate";
    /** A drop reason: new handshakes came faster than the rate of their source. */
    public static final String DROP_SOURCE_RATE = "source handshake rate";
    /** A drop reason: the server is draining and admits no new session. */
    public static final String DROP_DRAINING = "draining";

    /**
     * Reports a datagram from an unauthenticated peer that was dropped (see
     * {@link SessionListener#unauthenticatedDropped}).
     *
     * @param source where it came from
     * @param reason one of a small fixed set of texts
     */
    public void dropped(SocketAddress source, String reason) {
        try {
            listener.unauthenticatedDropped(protocol, source, reason);
        } catch (RuntimeException e) {
            // the listener's fault
        }
    }

    /**
     * Returns true while every handshake slot is held, or the waiting room is full: a TCP transport should stop
     * accepting until {@link #onCapacity} signals.
     *
     * @return whether to pause accepting
     */
    public boolean saturated() {
        synchronized (admission) {
            return handshaking >= options.maxHandshakes() || waiting.size() >= maxWaiting;
        }
    }

    /**
     * Sets what runs after a handshake slot was freed and the core is no longer {@link #saturated()} (a transport
     * resumes accepting); it runs on the thread that freed the slot and must not block.
     *
     * @param signal the action
     */
    public void onCapacity(Runnable signal) {
        this.capacitySignal = signal;
    }

    /** @return connections accepted whose header has not been decided yet (holding a handshake slot) */
    public int handshaking() {
        synchronized (admission) {
            return handshaking;
        }
    }

    /** @return connections waiting for a handshake slot */
    public int waiting() {
        synchronized (admission) {
            return waiting.size();
        }
    }

    /** @return sessions whose header was accepted and that have not ended (resolving, dialling, relaying) */
    public int activeSessions() {
        return relaying.get();
    }

    /** @return the protocol of this listener */
    public Protocol protocol() {
        return protocol;
    }

    /** @return the settings */
    public StreamServerOptions options() {
        return options;
    }

    /**
     * The server is closing: new connections are not admitted and tunnels that end before relaying are not
     * reported as refused (the server, not the client, ended them).
     */
    public void closing() {
        closing = true;
        synchronized (admission) {
            waiting.clear();
        }
    }

    /**
     * The server drains: sessions already past their header go on; a header decided from now on is refused with
     * {@link RefusalReason#DRAINING}, and a UDP address with no session is not admitted ({@link #tryAccept} drops
     * it). TCP connections are still accepted, so that routes on the TLS port (a health check) keep answering.
     */
    public void drain() {
        draining = true;
    }

    /** @return true once {@link #drain()} was called */
    public boolean isDraining() {
        return draining;
    }

    /** @return true once {@link #closing()} was called */
    public boolean isClosing() {
        return closing;
    }

    // ------------------------------------------------------------ for TunnelSession

    SessionListener listener() {
        return listener;
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    /** @return null if the session may relay, else the reason it may not (it then holds nothing) */
    RefusalReason tryAcquireSession(Object source) {
        if (!tryAcquire(relaying, options.maxSessions())) {
            return RefusalReason.CAPACITY;
        }
        int perSource = options.maxSessionsPerSource();
        if (perSource < options.maxSessions()) {
            synchronized (relayingPerSource) {
                int n = relayingPerSource.getOrDefault(source, 0);
                if (n >= perSource) {
                    relaying.decrementAndGet();
                    return RefusalReason.SOURCE_LIMIT;
                }
                relayingPerSource.put(source, n + 1);
            }
        }
        return null;
    }

    void releaseSession(Object source) {
        relaying.decrementAndGet();
        if (options.maxSessionsPerSource() < options.maxSessions()) {
            synchronized (relayingPerSource) {
                relayingPerSource.computeIfPresent(source, (k, n) -> n <= 1 ? null : n - 1);
            }
        }
    }

    /** A tunnel that held a handshake slot freed it: the slot goes to the first waiting tunnel that fits. */
    void releaseHandshake(Object source) {
        List<TunnelSession> admitted = null;
        boolean signal;
        synchronized (admission) {
            handshaking--;
            perSource.computeIfPresent(source, (k, n) -> n <= 1 ? null : n - 1);
            for (Iterator<TunnelSession> it = waiting.iterator(); it.hasNext() && !closing
                    && handshaking < options.maxHandshakes(); ) {
                TunnelSession t = it.next();
                if (!fits(t.source())) {
                    continue;
                }
                it.remove();
                if (t.admit()) {
                    hold(t.source());
                    if (admitted == null) {
                        admitted = new ArrayList<>(1);
                    }
                    admitted.add(t);
                }
            }
            signal = handshaking < options.maxHandshakes() && waiting.size() < maxWaiting;
        }
        if (admitted != null) {
            for (TunnelSession t : admitted) {
                t.started();
            }
        }
        Runnable s = capacitySignal;
        if (signal && s != null) {
            try {
                s.run();
            } catch (RuntimeException e) {
                // the transport's fault; accepting resumes on the next release
            }
        }
    }

    /** A tunnel that was waiting for a slot ended (its deadline, or the client left). */
    void withdraw(TunnelSession t) {
        synchronized (admission) {
            waiting.remove(t);
        }
    }

    long now() {
        return clock.getAsLong();
    }

    /** The wall-clock time a session opened, for its {@link io.streamproxy.SessionInfo}. */
    java.time.Instant wallClock() {
        return java.time.Instant.now();
    }

    /** @return the limit of handshakes per source */
    int maxPerSource() {
        return options.maxHandshakesPerSource();
    }

    /**
     * A source may start a handshake while the server has a free slot and the source is under its own limit, or
     * while fewer than half the server's slots are held (no contention: a burst of one host goes at full speed, and
     * whoever holds half the slots still leaves the other half to everyone else).
     */
    private boolean fits(Object source) {
        return handshaking < options.maxHandshakes() && (handshaking < options.maxHandshakes() / 2
                || perSource.getOrDefault(source, 0) < options.maxHandshakesPerSource());
    }

    private void hold(Object source) {
        handshaking++;
        perSource.merge(source, 1, Integer::sum);
    }

    /**
     * The source a client counts against: its IPv4 address, or the /64 of its IPv6 address (a host usually has a
     * whole /64), or the address itself if it is not an IP socket address.
     */
    static Object sourceKey(SocketAddress client) {
        if (client instanceof InetSocketAddress) {
            InetAddress ip = ((InetSocketAddress) client).getAddress();
            if (ip instanceof Inet6Address) {
                return ByteBuffer.wrap(ip.getAddress(), 0, 8).getLong();
            }
            if (ip != null) {
                return ip;
            }
        }
        return client;
    }

    void refused(SocketAddress client, RefusalReason reason, String detail) {
        if (!closing) {
            try {
                listener.sessionRefused(protocol, client, reason, detail);
            } catch (RuntimeException e) {
                // the listener's fault; the refusal stands
            }
        }
    }

    private static boolean tryAcquire(AtomicInteger counter, int max) {
        while (true) {
            int n = counter.get();
            if (n >= max) {
                return false;
            }
            if (counter.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }
}

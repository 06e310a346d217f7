package io.streamproxy.protocol;

import io.streamproxy.ClientIdentity;
import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import io.streamproxy.spi.DurationText;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The server side of one tunnel as an I/O-free state machine: every server, TCP and UDP, on every transport, feeds
 * it what happened and carries out the {@link Step} it answers. Events in: the handshake finished or failed, the
 * header bytes, the addresses a name resolved to, each dial's outcome, a direction of the relay ended, the relay
 * ended, {@link #tick} with the time, close. Steps out: wait, refuse (the reason is already reported) quietly or with
 * a reset, end a probe quietly, resolve {@link #destination()}, dial {@link #dialAddress()}, start the relay, end. One deadline from
 * accept bounds handshake plus header; the dial timeout bounds resolving plus every dial attempt; a UDP session
 * that relays nothing for the idle timeout ends. Only addresses the {@link DestinationPolicy} allows are dialled, in
 * the resolver's order, each at most once. Counters, refusal reasons and listener events come from here only. The
 * methods are synchronized, so a transport may call them from its I/O thread and its timer alike; a step it gets
 * late (the session has meanwhile ended) is {@link Step#END}, and the transport then frees what it holds.
 */
public final class TunnelSession {
    /** What the transport does next. */
    public enum Step {
        /** Nothing now: wait for the next event. */
        WAIT,
        /** Close the connection without dialling; the refusal was reported ({@link #refusalReason()}). */
        REFUSE,
        /** A health probe: close quietly, nothing was dialled; it was reported as a probe. */
        PROBE,
        /**
         * TCP only: refuse with a reset, not a quiet close (SO_LINGER 0 under the TLS layer, no close_notify), so the
         * client can tell it from a healthy server's answer to a probe: a health probe while the server drains. The
         * refusal was reported ({@link #refusalReason()}). A transport that closes quietly here lets a prober take a
         * draining server for a healthy one.
         */
        RESET,
        /** Resolve {@link #destination()}'s host, then call {@link #resolved} or {@link #resolveFailed}. */
        RESOLVE,
        /** Connect to {@link #dialAddress()} by {@link #dialDeadline()}, then {@link #dialSucceeded} or {@link #dialFailed}. */
        DIAL,
        /** Relay between client and destination; the session was reported opened ({@link #info()}). */
        RELAY,
        /** The session has ended: close everything it holds (it was reported, if it relayed). */
        END
    }

    /** A direction of the relay. */
    public enum Direction {
        /** Client to destination. */
        TO_DESTINATION,
        /** Destination to client. */
        FROM_DESTINATION
    }

    private enum State { HANDSHAKE, HEADER, RESOLVING, DIALING, RELAYING, ENDED }

    private final SessionCore core;
    private static final int QUEUED = 0;
    private static final int HELD = 1;
    private static final int FREED = 2;

    private final SocketAddress client;
    private final Object source;
    private long headerDeadline;
    private final AtomicInteger slot = new AtomicInteger(QUEUED);
    private volatile Consumer<TunnelSession> start;
    private State state = State.HANDSHAKE;
    private boolean holdsSession;
    private String identity;
    private ClientIdentity clientIdentity;
    private Destination destination;
    private List<InetAddress> candidates = List.of();
    private int nextCandidate;
    private InetSocketAddress dialAddress;
    private long dialDeadline;
    private StringBuilder dialFailures;
    private boolean clientEndedEarly;
    private Direction endedFirst;
    private SessionInfo info;
    private long lastActivity;
    private long openedAt;
    private long halfClosedAt;
    private volatile long lastTouch;
    private String endingReason;
    /** How often a tunnel with a half-close bound that has not half-closed yet is looked at, at least. */
    private static final long HALF_CLOSE_POLL_NANOS = 1_000_000_000L;
    private long bytesToDestination;
    private long bytesFromDestination;
    private long datagramsToDestination;
    private long datagramsFromDestination;
    private RefusalReason refusalReason;
    private String detail = "";

    TunnelSession(SessionCore core, SocketAddress client, Object source, long acceptedAt) {
        this.core = core;
        this.client = client;
        this.source = source;
        this.headerDeadline = acceptedAt + core.options().headerTimeout().toNanos();
    }

    // ------------------------------------------------------------------ admission (by the core, lock-free here)

    /** Takes the handshake slot the core reserved: false if this tunnel ended while it waited. */
    boolean admit() {
        return slot.compareAndSet(QUEUED, HELD);
    }

    /** Waits for a slot; {@code start} runs when one is given. */
    void await(Consumer<TunnelSession> start) {
        this.start = start;
    }

    /** The slot was given after a wait: the handshake starts, and its deadline with it. */
    void started() {
        synchronized (this) {
            if (state == State.HANDSHAKE) {
                headerDeadline = core.now() + core.options().headerTimeout().toNanos();
            }
        }
        Consumer<TunnelSession> s = start;
        start = null;
        if (s != null) {
            s.accept(this);
        }
    }

    Object source() {
        return source;
    }

    /** @return true while the connection waits for a handshake slot (the transport must not start the handshake) */
    public boolean isWaiting() {
        return slot.get() == QUEUED;
    }

    // ------------------------------------------------------------------ events

    /**
     * The TLS or DTLS handshake finished. On TCP the client must have negotiated the stream ALPN id (connections
     * that negotiated a route's id are handed over with {@link #routed} instead).
     *
     * @param alpn     the negotiated ALPN id, or null (not asked on UDP)
     * @param identity the client certificate's subject, or null
     * @param now      {@link System#nanoTime()}
     * @return {@link Step#WAIT} for the header, or {@link Step#REFUSE}
     */
    public synchronized Step handshakeDone(String alpn, String identity, long now) {
        return handshakeDone(alpn, identity, null, false, now);
    }

    /**
     * The TLS or DTLS handshake finished, with who the client is (its certificate's identity, which the
     * {@link DestinationPolicy} receives).
     *
     * @param alpn   the negotiated ALPN id, or null (not asked on UDP)
     * @param client the client's identity, or null
     * @param now    {@link System#nanoTime()}
     * @return {@link Step#WAIT} for the header, or {@link Step#REFUSE}
     */
    public synchronized Step handshakeDone(String alpn, ClientIdentity client, long now) {
        return handshakeDone(alpn, client == null ? null : client.subject(), client, false, now);
    }

    /**
     * The TLS or DTLS handshake finished with the client's certificate chain as the engine reports it: the chain must
     * be within its validity dates now, and its leaf's identity is what the {@link DestinationPolicy} receives. A
     * resumed session (a TLS 1.3 ticket, a TLS 1.2 session id or ticket, a DTLS session id) carries the chain of the
     * handshake that made it and no engine checks it again, so a certificate that expired since would otherwise keep
     * a client in; transports call this rather than {@link #handshakeDone(String, ClientIdentity, long)}. The
     * listener hears of the handshake ({@link io.streamproxy.SessionListener#handshakeCompleted}) once it is
     * accepted.
     *
     * @param alpn      the negotiated ALPN id, or null (not asked on UDP)
     * @param peerChain the client's chain, leaf first, or null when the engine has none
     * @param resumed   whether the handshake resumed an earlier session instead of a full handshake
     * @param now       {@link System#nanoTime()}
     * @return {@link Step#WAIT} for the header, or {@link Step#REFUSE}
     */
    public synchronized Step handshakeDone(String alpn, Certificate[] peerChain, boolean resumed, long now) {
        String outdated = outdated(peerChain, resumed);
        if (outdated != null && state == State.HANDSHAKE) {
            return handshakeFailed(outdated, now);
        }
        ClientIdentity who = ClientIdentity.ofChain(peerChain);
        return handshakeDone(alpn, who == null ? null : who.subject(), who, resumed, now);
    }

    /**
     * Whether a session the JDK's TLS or DTLS engine finished was resumed rather than made by this handshake: its
     * creation time (which a resumed session keeps from the handshake that made it) lies before the handshake
     * started. For engines that cannot say it themselves; BoringSSL's can.
     *
     * @param session              the handshaken session
     * @param handshakeStartMillis {@link System#currentTimeMillis()} before the handshake's first record
     * @return true if the session is older than the handshake
     */
    public static boolean resumedBefore(SSLSession session, long handshakeStartMillis) {
        return session.getCreationTime() < handshakeStartMillis;
    }

    /**
     * The peer's chain of a TLS or DTLS session, as {@link #handshakeDone(String, Certificate[], boolean, long)} takes it.
     *
     * @param session the handshaken session
     * @return the chain, leaf first, or null when the peer is not authenticated
     */
    public static Certificate[] peerChain(SSLSession session) {
        try {
            return session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** Why a client chain is not valid at this moment, or null (see {@link ClientIdentity#outsideDates}). */
    static String outdated(Certificate[] peerChain, boolean resumed) {
        String why = ClientIdentity.outsideDates(peerChain);
        return why == null || !resumed ? why : why + " (a resumed session outlived it)";
    }

    private Step handshakeDone(String alpn, String identity, ClientIdentity who, boolean resumed, long now) {
        if (state != State.HANDSHAKE) {
            return current();
        }
        if (now - headerDeadline >= 0) {
            return refuse(RefusalReason.HEADER_TIMEOUT, "no TLS handshake within " + DurationText.of(timeout()));
        }
        this.identity = identity;
        this.clientIdentity = who;
        if (core.protocol() == Protocol.TCP && !StreamProtocol.ALPN.equals(alpn)) {
            return refuse(RefusalReason.HANDSHAKE_FAILED, "client did not negotiate ALPN " + StreamProtocol.ALPN
                    + " (got '" + (alpn == null ? "" : alpn) + "')");
        }
        state = State.HEADER;
        reportHandshake(resumed);
        return Step.WAIT;
    }

    private void reportHandshake(boolean resumed) {
        try {
            core.listener().handshakeCompleted(core.protocol(), client, resumed);
        } catch (RuntimeException e) {
            // the listener's fault; the tunnel goes on
        }
    }

    /**
     * The handshake failed (bad or missing certificate, protocol error, the peer went away, or the transport's own
     * handshake timer fired).
     *
     * @param why what failed, for the refusal
     * @param now {@link System#nanoTime()}
     * @return {@link Step#REFUSE} (or {@link Step#END} if already ended)
     */
    public synchronized Step handshakeFailed(String why, long now) {
        if (state != State.HANDSHAKE) {
            return state == State.ENDED ? Step.END : refuse(RefusalReason.INVALID_HEADER, why);
        }
        if (now - headerDeadline >= 0) {
            return refuse(RefusalReason.HEADER_TIMEOUT, "no TLS handshake within " + DurationText.of(timeout()));
        }
        return refuse(RefusalReason.HANDSHAKE_FAILED, why);
    }

    /**
     * The handshake finished with a route's ALPN id: the connection leaves the tunnel core (its handshake slot is
     * freed, nothing is reported).
     *
     * @param now {@link System#nanoTime()}
     * @return {@link Step#END}
     */
    public synchronized Step routed(long now) {
        finish();
        return Step.END;
    }

    /**
     * The handshake finished with a route's ALPN id, with the client's chain: as {@link #routed(long)} if the chain
     * is within its dates now (the listener hears of the handshake), else refused as a failed handshake (see
     * {@link #handshakeDone(String, Certificate[], boolean, long)}).
     *
     * @param peerChain the client's chain, leaf first, or null
     * @param resumed   whether the handshake resumed an earlier session
     * @param now       {@link System#nanoTime()}
     * @return {@link Step#END} to hand the connection to the route, or {@link Step#REFUSE}
     */
    public synchronized Step routed(Certificate[] peerChain, boolean resumed, long now) {
        if (state != State.HANDSHAKE) {
            return routed(now);
        }
        String outdated = outdated(peerChain, resumed);
        if (outdated != null) {
            return handshakeFailed(outdated, now);
        }
        reportHandshake(resumed);
        return routed(now);
    }

    /**
     * The header arrived: exactly the first 275 bytes of the stream on TCP, the first record on UDP (whose size
     * must be 275). Decides: probe, refusal (invalid header, bad destination, policy, capacity), resolve or dial.
     *
     * @param header the bytes; the position is not moved
     * @param now    {@link System#nanoTime()}
     * @return {@link Step#PROBE}, {@link Step#REFUSE}, {@link Step#RESET} (a TCP probe while draining),
     *         {@link Step#RESOLVE} or {@link Step#DIAL}
     */
    public synchronized Step header(ByteBuffer header, long now) {
        if (state != State.HEADER && !(state == State.HANDSHAKE && core.protocol() == Protocol.UDP)) {
            return state == State.ENDED ? Step.END : current();
        }
        if (now - headerDeadline > 0) {
            return refuse(RefusalReason.HEADER_TIMEOUT, "no header within " + DurationText.of(timeout()));
        }
        if (header.remaining() != StreamProtocol.HEADER_SIZE) {
            return refuse(RefusalReason.INVALID_HEADER, (core.protocol() == Protocol.UDP ? "first record is "
                    : "header is ") + header.remaining() + " bytes, a header is " + StreamProtocol.HEADER_SIZE);
        }
        DestinationPolicy policy = core.options().policy();
        ClientIdentity who = clientIdentity;
        SessionDecision decision = SessionRules.decide(header, d -> policy.allows(d, who));
        switch (decision.action()) {
            case CLOSE_QUIETLY:
                if (core.isDraining()) {
                    Step refused = refuse(RefusalReason.DRAINING, "the server is draining; health probe answered "
                            + (core.protocol() == Protocol.TCP ? "with a reset" : "as a refusal"));
                    return refused == Step.REFUSE && core.protocol() == Protocol.TCP ? Step.RESET : refused;
                }
                finish();
                try {
                    core.listener().healthProbe(core.protocol(), client);
                } catch (RuntimeException e) {
                    // the listener's fault
                }
                return Step.PROBE;
            case REFUSE:
                return refuse(decision.reason(), decision.detail());
            default:
        }
        destination = decision.destination();
        if (core.isDraining()) {
            return refuse(RefusalReason.DRAINING, "the server is draining; " + destination + " not dialled");
        }
        RefusalReason full = core.tryAcquireSession(source);
        if (full != null) {
            return refuse(full, full == RefusalReason.CAPACITY
                    ? "at the limit of " + core.options().maxSessions() + " sessions"
                    : "at the limit of " + core.options().maxSessionsPerSource() + " sessions per source");
        }
        holdsSession = true;
        releaseHandshake();
        dialDeadline = now + core.options().dialTimeout().toNanos();
        InetAddress literal = HostSyntax.literal(destination.host()).orElse(null);
        if (literal != null) {
            state = State.RESOLVING;
            return resolved(List.of(literal), now);
        }
        state = State.RESOLVING;
        return Step.RESOLVE;
    }

    /**
     * The client ended its side (FIN, close_notify, close) before the relay started; while resolving or dialling
     * this is remembered ({@link #clientEndedEarly()}) for the relay to pass on, before that it refuses.
     *
     * @param headerBytes header bytes received so far
     * @param now         {@link System#nanoTime()}
     * @return {@link Step#REFUSE} before the header, else {@link Step#WAIT}
     */
    public synchronized Step clientEnded(int headerBytes, long now) {
        switch (state) {
            case HANDSHAKE:
                return refuse(RefusalReason.HANDSHAKE_FAILED, "client closed during the handshake");
            case HEADER:
                return refuse(RefusalReason.INVALID_HEADER, "client closed after " + headerBytes + " header bytes");
            case RESOLVING:
            case DIALING:
                clientEndedEarly = true;
                return Step.WAIT;
            case RELAYING:
                directionEnded(Direction.TO_DESTINATION, now);
                return Step.WAIT;
            default:
                return Step.END;
        }
    }

    /**
     * The destination's host resolved. Each address is put to the policy; the allowed ones are dialled in order.
     *
     * @param addresses what the resolver returned, in its order
     * @param now       {@link System#nanoTime()}
     * @return {@link Step#DIAL} or {@link Step#REFUSE}
     */
    public synchronized Step resolved(List<InetAddress> addresses, long now) {
        if (state != State.RESOLVING) {
            return current();
        }
        if (now - dialDeadline >= 0) {
            return refuse(RefusalReason.DIAL_FAILED, "resolving " + destination.host() + " took longer than "
                    + DurationText.of(core.options().dialTimeout()));
        }
        if (addresses.isEmpty()) {
            return refuse(RefusalReason.DIAL_FAILED, destination.host() + " resolved to no address");
        }
        DestinationPolicy policy = core.options().policy();
        List<InetAddress> allowed = new ArrayList<>(addresses.size());
        List<String> denied = new ArrayList<>();
        for (InetAddress a : addresses) {
            boolean ok;
            try {
                ok = policy.allows(destination, a, clientIdentity);
            } catch (RuntimeException e) {
                ok = false;
            }
            if (ok) {
                allowed.add(a);
            } else {
                denied.add(a.getHostAddress());
            }
        }
        if (allowed.isEmpty()) {
            return refuse(RefusalReason.POLICY_DENIED, destination + (HostSyntax.literal(destination.host())
                    .isPresent() ? "" : " resolves to " + denied + ", which") + " is not allowed by policy");
        }
        candidates = allowed;
        state = State.DIALING;
        return nextDial(now);
    }

    /**
     * Resolving the host failed.
     *
     * @param why the resolver's reason
     * @param now {@link System#nanoTime()}
     * @return {@link Step#REFUSE}
     */
    public synchronized Step resolveFailed(String why, long now) {
        if (state != State.RESOLVING) {
            return current();
        }
        return refuse(RefusalReason.DIAL_FAILED, "resolving " + destination.host() + ": " + why);
    }

    /**
     * The connection to {@link #dialAddress()} failed: the next allowed address is dialled if the dial deadline
     * leaves time.
     *
     * @param why the reason
     * @param now {@link System#nanoTime()}
     * @return {@link Step#DIAL} or {@link Step#REFUSE}
     */
    public synchronized Step dialFailed(String why, long now) {
        if (state != State.DIALING) {
            return current();
        }
        if (dialFailures == null) {
            dialFailures = new StringBuilder();
        } else {
            dialFailures.append("; ");
        }
        dialFailures.append(dialAddress.getAddress().getHostAddress()).append(": ").append(why);
        return nextDial(now);
    }

    /**
     * The connection to {@link #dialAddress()} is up: the session opens.
     *
     * @param now {@link System#nanoTime()}
     * @return {@link Step#RELAY}, or {@link Step#END} if the session ended meanwhile (close what was dialled)
     */
    public synchronized Step dialSucceeded(long now) {
        if (state != State.DIALING) {
            return Step.END;
        }
        if (now - dialDeadline > 0) {
            return refuse(RefusalReason.DIAL_FAILED, "no connection to " + destination + " within "
                    + DurationText.of(core.options().dialTimeout()));
        }
        state = State.RELAYING;
        lastActivity = now;
        openedAt = now;
        lastTouch = now;
        info = new SessionInfo(core.nextId(), core.protocol(), client, destination, identity, dialAddress,
                core.wallClock());
        try {
            core.listener().sessionOpened(info);
        } catch (RuntimeException e) {
            // the listener's fault; the session goes on
        }
        return Step.RELAY;
    }

    /**
     * A datagram (UDP) went to the destination: counts it and keeps the session from idling out.
     *
     * @param bytes its size
     * @param now   {@link System#nanoTime()}
     */
    public synchronized void relayedToDestination(int bytes, long now) {
        bytesToDestination += bytes;
        datagramsToDestination++;
        lastActivity = now;
    }

    /**
     * A datagram (UDP) came back from the destination and went to the client.
     *
     * @param bytes its size
     * @param now   {@link System#nanoTime()}
     */
    public synchronized void relayedFromDestination(int bytes, long now) {
        bytesFromDestination += bytes;
        datagramsFromDestination++;
        lastActivity = now;
    }

    /**
     * One direction of the relay ended (half-close); the first one is remembered.
     *
     * @param direction which
     * @param now       {@link System#nanoTime()}
     */
    public synchronized void directionEnded(Direction direction, long now) {
        if (endedFirst == null && state == State.RELAYING) {
            endedFirst = direction;
            halfClosedAt = now;
        }
    }

    /**
     * The relay ended (both directions done, or a failure): the session is reported closed.
     *
     * @param why                  the reason, for the log
     * @param bytesToDestination   TCP: bytes relayed to the destination (UDP counts with {@link #relayedToDestination})
     * @param bytesFromDestination TCP: bytes relayed back
     * @param now                  {@link System#nanoTime()}
     * @return {@link Step#END}
     */
    public synchronized Step relayEnded(String why, long bytesToDestination, long bytesFromDestination, long now) {
        this.bytesToDestination += bytesToDestination;
        this.bytesFromDestination += bytesFromDestination;
        return close(why, now);
    }

    /**
     * Runs the timers: the header deadline, the dial deadline, the UDP idle timeout.
     *
     * @param now {@link System#nanoTime()}
     * @return {@link Step#WAIT} if nothing expired, else {@link Step#REFUSE} or {@link Step#END}
     */
    public Step tick(long now) {
        return tick(now, null);
    }

    /**
     * Runs the timers, as {@link #tick(long)}; a handshake that runs out of time is refused with where it stood.
     *
     * @param now            {@link System#nanoTime()}
     * @param handshakeState says where the handshake stands (asked only if it ran out of time), or null
     * @return {@link Step#WAIT} if nothing expired, else {@link Step#REFUSE} or {@link Step#END}
     */
    public synchronized Step tick(long now, java.util.function.Supplier<String> handshakeState) {
        switch (state) {
            case HANDSHAKE:
            case HEADER:
                if (now - headerDeadline >= 0) {
                    if (isWaiting()) {
                        return refuse(RefusalReason.CAPACITY, "no handshake slot within "
                                + DurationText.of(timeout()) + " (the server allows " + core.options().maxHandshakes()
                                + " handshakes, " + core.maxPerSource() + " per source)");
                    }
                    return refuse(RefusalReason.HEADER_TIMEOUT, "no " + (state == State.HANDSHAKE ? "TLS handshake"
                            : "header") + " within " + DurationText.of(timeout())
                            + (state == State.HANDSHAKE && handshakeState != null
                            ? " (" + handshakeState.get() + ")" : ""));
                }
                return Step.WAIT;
            case RESOLVING:
            case DIALING:
                if (now - dialDeadline >= 0) {
                    return refuse(RefusalReason.DIAL_FAILED, "no connection to " + destination + " within "
                            + DurationText.of(core.options().dialTimeout()) + failures());
                }
                return Step.WAIT;
            case RELAYING:
                if (core.protocol() == Protocol.UDP) {
                    if (now - lastActivity >= core.options().udpIdleTimeout().toNanos()) {
                        return close("idle for " + DurationText.of(core.options().udpIdleTimeout()), now);
                    }
                    return Step.WAIT;
                }
                if (endingReason == null) {
                    endingReason = tcpBoundReached(now);
                }
                // the transport closes both connections; the relay's end then reports the bytes with this reason
                return endingReason != null ? Step.END : Step.WAIT;
            default:
                return Step.END;
        }
    }

    /**
     * A failure the transport found before the relay (a DTLS error after the handshake, a read error): refuses
     * with the reason that fits the state (handshake failed, or invalid header).
     *
     * @param why what failed
     * @param now {@link System#nanoTime()}
     * @return {@link Step#REFUSE}, or {@link Step#END} when relaying (the session is closed)
     */
    public synchronized Step failed(String why, long now) {
        switch (state) {
            case HANDSHAKE:
                return handshakeFailed(why, now);
            case HEADER:
                return refuse(now - headerDeadline >= 0 ? RefusalReason.HEADER_TIMEOUT : RefusalReason.INVALID_HEADER,
                        why);
            case RESOLVING:
            case DIALING:
                return refuse(RefusalReason.DIAL_FAILED, why);
            default:
                return close(why, now);
        }
    }

    /**
     * Ends the session now (the server closes, or the transport tore it down): a relaying session is reported
     * closed; one that had not started relaying ends without a refusal.
     *
     * @param why the reason
     * @return {@link Step#END}
     */
    public synchronized Step close(String why) {
        return close(why, core.now());
    }

    private Step close(String why, long now) {
        if (state == State.ENDED) {
            return Step.END;
        }
        if (endingReason != null) {
            why = endingReason; // a bound of the core ended it: the transport's view of the end is the consequence
        }
        boolean wasRelaying = state == State.RELAYING;
        detail = why;
        finish();
        if (wasRelaying) {
            SessionEnd end = new SessionEnd(Duration.ofNanos(Math.max(0, now - openedAt)),
                    bytesToDestination, bytesFromDestination, datagramsToDestination, datagramsFromDestination,
                    endedFirst == null ? null : endedFirst == Direction.TO_DESTINATION ? SessionEnd.Side.CLIENT
                            : SessionEnd.Side.DESTINATION, why);
            try {
                core.listener().sessionEnded(info, end);
            } catch (RuntimeException e) {
                // the listener's fault
            }
        }
        return Step.END;
    }

    // ------------------------------------------------------------------ what the transport reads

    /** @return the server settings this session runs under */
    public io.streamproxy.StreamServerOptions options() {
        return core.options();
    }

    /** @return the client's address */
    public SocketAddress client() {
        return client;
    }

    /** @return the destination named in the header, once accepted (null before) */
    public synchronized Destination destination() {
        return destination;
    }

    /** @return the address to dial now (with {@link Step#DIAL}) or the one dialled (when relaying) */
    public synchronized InetSocketAddress dialAddress() {
        return dialAddress;
    }

    /** @return the {@link System#nanoTime()} by which the dial (and resolving) must be done */
    public synchronized long dialDeadline() {
        return dialDeadline;
    }

    /**
     * Returns the time left until the dial deadline, at least 1 ms, for a connect timeout.
     *
     * @param now {@link System#nanoTime()}
     * @return milliseconds, at least 1
     */
    public synchronized int dialMillisLeft(long now) {
        long left = (dialDeadline - now) / 1_000_000L;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, left));
    }

    /** @return the session, once relaying (null before) */
    public synchronized SessionInfo info() {
        return info;
    }

    /** @return why the session was refused (with {@link Step#REFUSE}), else null */
    public synchronized RefusalReason refusalReason() {
        return refusalReason;
    }

    /** @return the detail of a refusal or the reason the session ended, empty if none */
    public synchronized String detail() {
        return detail;
    }

    /**
     * Returns the PROXY protocol v2 header to write to the destination before any payload (UDP: before each
     * datagram), when the server's options ask for one ({@link io.streamproxy.StreamServerOptions#proxyProtocolV2()}): source = the client,
     * destination = the server's address the client connected to, the client certificate's CN in a TLV.
     *
     * @param serverLocal the local address of the client's connection
     * @return the bytes, or null when none is to be sent (off, or the addresses are not IP socket addresses)
     */
    public synchronized byte[] proxyHeader(java.net.SocketAddress serverLocal) {
        if (!core.options().proxyProtocolV2() || !(client instanceof InetSocketAddress)
                || !(serverLocal instanceof InetSocketAddress)
                || ((InetSocketAddress) client).getAddress() == null
                || ((InetSocketAddress) serverLocal).getAddress() == null) {
            return null;
        }
        return ProxyHeaderV2.encode((InetSocketAddress) client, (InetSocketAddress) serverLocal,
                clientIdentity == null ? null : clientIdentity.commonName(), core.protocol() == Protocol.UDP);
    }

    /** @return who the client is, from its certificate, or null if the transport did not say */
    public synchronized ClientIdentity clientIdentity() {
        return clientIdentity;
    }

    /** @return the client certificate's subject given at the handshake, or null */
    public synchronized String identity() {
        return identity;
    }

    /** @return true when the client ended its side while the destination was resolved or dialled */
    public synchronized boolean clientEndedEarly() {
        return clientEndedEarly;
    }

    /** @return the direction that ended first, or null if neither has */
    public synchronized Direction endedFirst() {
        return endedFirst;
    }

    /** @return true once the relay runs */
    public synchronized boolean isRelaying() {
        return state == State.RELAYING;
    }

    /** @return true once the session has ended (refused, probed, closed) */
    public synchronized boolean isEnded() {
        return state == State.ENDED;
    }

    /** @return datagrams relayed to the destination (UDP) */
    public synchronized long datagramsToDestination() {
        return datagramsToDestination;
    }

    /** @return datagrams relayed back (UDP) */
    public synchronized long datagramsFromDestination() {
        return datagramsFromDestination;
    }

    /**
     * Returns when {@link #tick} next has something to do, for a transport that schedules one timer per session.
     *
     * @return a {@link System#nanoTime()} value, or {@link Long#MAX_VALUE} for no timer
     */
    public synchronized long nextDeadline() {
        switch (state) {
            case HANDSHAKE:
            case HEADER:
                return headerDeadline;
            case RESOLVING:
            case DIALING:
                return dialDeadline;
            case RELAYING:
                return core.protocol() == Protocol.UDP
                        ? lastActivity + core.options().udpIdleTimeout().toNanos() : nextTcpBound();
            default:
                return Long.MAX_VALUE;
        }
    }

    /**
     * TCP relay activity (bytes read from either side), for {@link io.streamproxy.StreamServerOptions#tcpIdleTimeout()}:
     * a plain volatile write, no lock, so that a relay may call it on every read.
     *
     * @param now {@link System#nanoTime()}
     */
    public void touch(long now) {
        lastTouch = now;
    }

    // ------------------------------------------------------------------ inside

    /** The reason a TCP bound ends the tunnel at {@code now}, or null. */
    private String tcpBoundReached(long now) {
        io.streamproxy.StreamServerOptions o = core.options();
        if (!o.maxTunnelLifetime().isZero() && now - openedAt >= o.maxTunnelLifetime().toNanos()) {
            return "reached the maximum lifetime of " + DurationText.of(o.maxTunnelLifetime());
        }
        if (!o.halfCloseTimeout().isZero() && endedFirst != null
                && now - halfClosedAt >= o.halfCloseTimeout().toNanos()) {
            return "half-closed for " + DurationText.of(o.halfCloseTimeout());
        }
        if (!o.tcpIdleTimeout().isZero() && now - lastTouch >= o.tcpIdleTimeout().toNanos()) {
            return "idle for " + DurationText.of(o.tcpIdleTimeout());
        }
        return null;
    }

    /** When a TCP bound is next due, or {@link Long#MAX_VALUE} without any. */
    private long nextTcpBound() {
        if (endingReason != null) {
            return Long.MAX_VALUE; // already ending
        }
        io.streamproxy.StreamServerOptions o = core.options();
        long next = Long.MAX_VALUE;
        if (!o.maxTunnelLifetime().isZero()) {
            next = Math.min(next, openedAt + o.maxTunnelLifetime().toNanos());
        }
        if (!o.halfCloseTimeout().isZero()) {
            next = Math.min(next, endedFirst != null ? halfClosedAt + o.halfCloseTimeout().toNanos()
                    : core.now() + Math.min(HALF_CLOSE_POLL_NANOS, o.halfCloseTimeout().toNanos()));
        }
        if (!o.tcpIdleTimeout().isZero()) {
            next = Math.min(next, lastTouch + o.tcpIdleTimeout().toNanos());
        }
        return next;
    }

    private Step nextDial(long now) {
        if (now - dialDeadline >= 0) {
            return refuse(RefusalReason.DIAL_FAILED, "no connection to " + destination + " within "
                    + DurationText.of(core.options().dialTimeout()) + failures());
        }
        if (nextCandidate >= candidates.size()) {
            return refuse(RefusalReason.DIAL_FAILED, "dialling " + destination + failures());
        }
        dialAddress = new InetSocketAddress(candidates.get(nextCandidate++), destination.port());
        return Step.DIAL;
    }

    private String failures() {
        return dialFailures == null ? "" : ": " + dialFailures;
    }

    private Step current() {
        return state == State.ENDED ? Step.END : Step.WAIT;
    }

    private Duration timeout() {
        return core.options().headerTimeout();
    }

    private Step refuse(RefusalReason reason, String why) {
        if (state == State.ENDED) {
            return Step.END;
        }
        refusalReason = reason;
        detail = why;
        finish();
        core.refused(client, reason, why);
        return Step.REFUSE;
    }

    private void finish() {
        state = State.ENDED;
        releaseHandshake();
        if (holdsSession) {
            holdsSession = false;
            core.releaseSession(source);
        }
    }

    private void releaseHandshake() {
        int was = slot.getAndSet(FREED);
        if (was == HELD) {
            core.releaseHandshake(source);
        } else if (was == QUEUED) {
            start = null;
            core.withdraw(this);
        }
    }
}

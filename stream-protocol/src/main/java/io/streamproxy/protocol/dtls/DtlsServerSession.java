package io.streamproxy.protocol.dtls;

import io.streamproxy.Destination;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.protocol.SessionDecision;
import io.streamproxy.protocol.SessionEvents;
import io.streamproxy.protocol.SessionRules;
import io.streamproxy.protocol.StreamProtocol;
import java.io.IOException;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one UDP tunnel, free of I/O: a {@link DtlsDriver} plus the session rules. It runs the
 * handshake, takes the first record as the header (exactly 275 bytes), closes quietly on a probe, refuses what the
 * rules refuse, asks the transport to open the destination, relays records and destination datagrams one for one
 * (dropping and reporting a destination datagram over 16384 bytes), and ends on close_notify, a fatal alert, the
 * header timeout, the idle timeout or {@link #end}. The transport owns the sockets and the clock and implements
 * {@link Io}; every call must come from one thread at a time (an event loop).
 */
public final class DtlsServerSession implements DtlsDriver.Output {
    private static final Logger LOG = LoggerFactory.getLogger(DtlsServerSession.class);
    private static final int MAX_PENDING = 64;

    /** What the session needs from its transport. */
    public interface Io {
        /**
         * Sends a DTLS datagram to the client.
         *
         * @param datagram the bytes; only valid during the call
         * @throws IOException if sending failed
         */
        void toClient(ByteBuffer datagram) throws IOException;

        /**
         * Resolves and connects a UDP socket to the destination, now or later, then calls
         * {@link #destinationOpened()} or {@link #destinationFailed(String)} on the session's thread.
         *
         * @param destination where to connect
         */
        void openDestination(Destination destination);

        /**
         * Writes one datagram to the connected destination socket.
         *
         * @param datagram the bytes; only valid during the call
         * @return false if the socket's buffer was full and the datagram dropped
         * @throws IOException if writing failed ({@link PortUnreachableException} keeps the session)
         */
        boolean toDestination(ByteBuffer datagram) throws IOException;

        /** Closes the destination socket, if one was opened. */
        void closeDestination();

        /** The session has ended: forget it. */
        void ended();
    }

    /** Counters shared by the sessions of one server. */
    public static final class Counters {
        final AtomicInteger handshaking = new AtomicInteger();
        final AtomicInteger relaying = new AtomicInteger();
        final AtomicLong ids = new AtomicLong();

        /** @return sessions before their header was accepted (handshakes, headers, dialling) */
        public int handshaking() {
            return handshaking.get();
        }

        /** @return sessions relaying */
        public int relaying() {
            return relaying.get();
        }
    }

    private enum State { HANDSHAKE, HEADER, DIALING, RELAYING, ENDED }

    private final SocketAddress client;
    private final StreamServerOptions options;
    private final SessionEvents events;
    private final Counters counters;
    private final Io io;
    private final DtlsScratch scratch;
    private final DtlsDriver driver;
    private final long createdNanos;
    private long lastActivity;
    private State state = State.HANDSHAKE;
    private Destination destination;
    private SessionInfo info;
    private Queue<ByteBuffer> pending;
    private long bytesToDestination;
    private long bytesFromDestination;

    /**
     * Creates a session for a new client address (the transport has checked the caps and that the first datagram
     * looks like a ClientHello).
     *
     * @param engine   a server DTLS engine ({@link DtlsEngines#server})
     * @param client   the client's address
     * @param options  the server settings
     * @param counters the server's shared counters
     * @param io       the transport side
     * @param scratch  working buffers of the session's thread
     * @param now      {@link System#nanoTime()}
     */
    public DtlsServerSession(SSLEngine engine, SocketAddress client, StreamServerOptions options, Counters counters,
                             Io io, DtlsScratch scratch, long now) {
        this.client = client;
        this.options = options;
        this.events = new SessionEvents(options.listener());
        this.counters = counters;
        this.io = io;
        this.scratch = scratch;
        this.driver = new DtlsDriver(engine, options.dtlsMtu(), this);
        this.createdNanos = now;
        this.lastActivity = now;
        counters.handshaking.incrementAndGet();
    }

    /**
     * Tells whether a datagram from an unknown source may start a session: a DTLS handshake record (version
     * 1.0 or 1.2) carrying a ClientHello.
     *
     * @param b the datagram (position to limit)
     * @return true for a ClientHello
     */
    public static boolean looksLikeClientHello(ByteBuffer b) {
        int p = b.position();
        return b.remaining() > 25 && b.get(p) == 22 && (b.get(p + 1) & 0xff) == 0xfe
                && ((b.get(p + 2) & 0xff) == 0xff || (b.get(p + 2) & 0xff) == 0xfd) && b.get(p + 13) == 1;
    }

    /** @return the client's address */
    public SocketAddress client() {
        return client;
    }

    /** @return true once the session has ended */
    public boolean isEnded() {
        return state == State.ENDED;
    }

    /**
     * Feeds a datagram from the client.
     *
     * @param datagram the datagram; consumed
     * @param now      {@link System#nanoTime()}
     */
    public void fromClient(ByteBuffer datagram, long now) {
        if (state == State.ENDED) {
            return;
        }
        if (state == State.RELAYING) {
            lastActivity = now;
        }
        try {
            driver.receive(datagram, scratch, now);
        } catch (SSLException e) {
            fail("DTLS: " + e.getMessage());
            return;
        } catch (IOException e) {
            fail("DTLS I/O: " + e);
            return;
        }
        if (driver.isClosed() && state != State.ENDED) {
            fail(state == State.RELAYING ? "client sent close_notify" : "client closed before sending a header");
        }
    }

    /**
     * Relays a datagram from the destination to the client as one record (or drops and reports one over the
     * record limit).
     *
     * @param datagram the datagram; consumed
     * @param now      {@link System#nanoTime()}
     */
    public void fromDestination(ByteBuffer datagram, long now) {
        if (state != State.RELAYING) {
            return;
        }
        int size = datagram.remaining();
        if (size > DtlsDriver.MAX_DATAGRAM) {
            events.dropped(info, size, "over the " + DtlsDriver.MAX_DATAGRAM + "-byte DTLS record limit");
            return;
        }
        lastActivity = now;
        try {
            driver.send(datagram, scratch);
            bytesFromDestination += size;
        } catch (IOException e) {
            end("sending to the client failed: " + e.getMessage());
        }
    }

    /** The destination socket is connected: relay what waited, then everything. */
    public void destinationOpened() {
        if (state != State.DIALING) {
            io.closeDestination();
            return;
        }
        counters.handshaking.decrementAndGet();
        counters.relaying.incrementAndGet();
        state = State.RELAYING;
        lastActivity = System.nanoTime();
        info = new SessionInfo(counters.ids.incrementAndGet(), Protocol.UDP, client, destination);
        events.opened(info);
        ByteBuffer b;
        while ((b = pending.poll()) != null && state == State.RELAYING) {
            toDestination(b);
        }
        pending = null;
    }

    /**
     * Resolving or connecting the destination failed.
     *
     * @param why the reason, for the refusal
     */
    public void destinationFailed(String why) {
        if (state == State.DIALING) {
            refuse(RefusalReason.DIAL_FAILED, "dialling " + destination + ": " + why);
        }
    }

    /**
     * Runs timers: DTLS retransmission, the header deadline, the idle timeout. Call it every 100 ms or so.
     *
     * @param now {@link System#nanoTime()}
     */
    public void tick(long now) {
        switch (state) {
            case HANDSHAKE:
            case HEADER:
            case DIALING:
                if (now - createdNanos > options.headerTimeout().toNanos()) {
                    refuse(RefusalReason.HEADER_TIMEOUT, "no " + (state == State.HANDSHAKE ? "handshake" : "header")
                            + " within " + options.headerTimeout());
                    return;
                }
                if (driver.timerDeadline() <= now) {
                    try {
                        driver.onTimer(scratch, now);
                    } catch (IOException e) {
                        fail("DTLS retransmission failed: " + e.getMessage());
                    }
                }
                return;
            case RELAYING:
                if (now - lastActivity > options.udpIdleTimeout().toNanos()) {
                    end("idle for " + options.udpIdleTimeout());
                }
                return;
            default:
        }
    }

    @Override
    public void transmit(ByteBuffer datagram) throws IOException {
        io.toClient(datagram);
    }

    @Override
    public void handshakeFinished() {
        state = State.HEADER;
    }

    @Override
    public void record(ByteBuffer plaintext) {
        switch (state) {
            case HANDSHAKE:
            case HEADER:
                onHeader(plaintext);
                return;
            case DIALING:
                if (pending.size() < MAX_PENDING) {
                    ByteBuffer copy = ByteBuffer.allocate(plaintext.remaining());
                    copy.put(plaintext).flip();
                    pending.add(copy);
                }
                return;
            case RELAYING:
                toDestination(plaintext);
                return;
            default:
        }
    }

    private void onHeader(ByteBuffer plaintext) {
        SessionDecision decision = SessionRules.decide(plaintext, options.policy());
        switch (decision.action()) {
            case CLOSE_QUIETLY:
                events.probe(Protocol.UDP, client);
                finish();
                return;
            case REFUSE:
                refuse(decision.reason(), plaintext.remaining() != StreamProtocol.HEADER_SIZE
                        ? "first record is " + plaintext.remaining() + " bytes, a header is "
                        + StreamProtocol.HEADER_SIZE : decision.detail());
                return;
            default:
                if (counters.relaying.get() >= options.maxSessions()) {
                    refuse(RefusalReason.CAPACITY, "at the limit of " + options.maxSessions() + " sessions");
                    return;
                }
                destination = decision.destination();
                state = State.DIALING;
                pending = new ArrayDeque<>();
                io.openDestination(destination);
        }
    }

    private void toDestination(ByteBuffer plaintext) {
        int n = plaintext.remaining();
        try {
            if (io.toDestination(plaintext)) {
                bytesToDestination += n;
            }
        } catch (PortUnreachableException e) {
            LOG.debug("UDP session {}: destination {} unreachable (ICMP); session kept", info.id(), destination);
        } catch (IOException e) {
            end("writing to the destination failed: " + e.getMessage());
        }
    }

    private void fail(String why) {
        if (state == State.RELAYING) {
            end(why);
        } else {
            refuse(state == State.HANDSHAKE ? RefusalReason.HANDSHAKE_FAILED : RefusalReason.INVALID_HEADER, why);
        }
    }

    private void refuse(RefusalReason reason, String detail) {
        if (state == State.ENDED) {
            return;
        }
        events.refused(Protocol.UDP, client, reason, detail);
        finish();
    }

    /**
     * Ends the session: close_notify to the client, destination closed, closed event if it was relaying.
     *
     * @param why the reason, for the log
     */
    public void end(String why) {
        State was = state;
        if (was == State.ENDED) {
            return;
        }
        if (was != State.RELAYING) {
            refuse(was == State.HANDSHAKE ? RefusalReason.HANDSHAKE_FAILED : RefusalReason.INVALID_HEADER, why);
            return;
        }
        finish();
        events.closed(info, why, bytesToDestination, bytesFromDestination);
    }

    private void finish() {
        State was = state;
        if (was == State.ENDED) {
            return;
        }
        state = State.ENDED;
        driver.close(scratch);
        io.closeDestination();
        if (was == State.RELAYING) {
            counters.relaying.decrementAndGet();
        } else {
            counters.handshaking.decrementAndGet();
        }
        io.ended();
    }

}

package io.streamproxy.protocol.dtls;

import io.streamproxy.SessionInfo;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.TunnelSession.Step;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

/**
 * The server side of one UDP tunnel on the JDK's DTLS engine, free of I/O: a {@link DtlsDriver} for the records
 * and the tunnel's {@link TunnelSession} for every decision. It runs the handshake, gives the first record to the
 * core as the header, asks the transport to resolve and connect what the core says, relays records and destination
 * datagrams one for one (dropping and reporting a destination datagram over 16384 bytes), and ends when the core
 * says so or on close_notify or a fatal alert. Only authenticated traffic (records that decrypt, datagrams from the
 * destination) keeps the session from idling out. The transport owns the sockets and the clock and implements
 * {@link Io}; every call must come from one thread at a time (an event loop).
 */
public final class DtlsServerSession implements DtlsDriver.Output {
    private static final int MAX_PENDING = 64;
    /** The PROXY protocol header sent before each datagram to the destination, or null. */
    private ByteBuffer proxyPrefix;

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
         * Resolves a name off the session's thread, then calls {@link #resolved} or {@link #resolveFailed} on it.
         *
         * @param host     the name
         * @param deadline the {@link System#nanoTime()} after which the answer is no longer wanted
         */
        void resolve(String host, long deadline);

        /**
         * Opens a UDP socket connected to the address, now or later, then calls {@link #destinationOpened()} or
         * {@link #destinationFailed(String)} on the session's thread.
         *
         * @param address the checked address
         */
        void connect(InetSocketAddress address);

        /**
         * Writes one datagram to the connected destination socket.
         *
         * @param datagram the bytes; only valid during the call
         * @return false if the socket's buffer was full and the datagram dropped
         * @throws IOException if writing failed ({@link PortUnreachableException} keeps the session)
         */
        boolean toDestination(ByteBuffer datagram) throws IOException;

        /**
         * Writes one datagram made of a prefix and the payload to the connected destination socket (the PROXY
         * protocol header before each datagram).
         *
         * @param prefix   the bytes that go first; its position is left as it was
         * @param datagram the payload; only valid during the call
         * @return false if the socket's buffer was full and the datagram dropped
         * @throws IOException if writing failed
         */
        boolean toDestination(ByteBuffer prefix, ByteBuffer datagram) throws IOException;

        /**
         * Returns the server's own address, for the PROXY protocol header's destination.
         *
         * @return the address the server's UDP socket is bound to
         */
        java.net.SocketAddress serverAddress();

        /** Closes the destination socket, if one was opened. */
        void closeDestination();

        /**
         * A datagram from the destination was dropped (for the listener).
         *
         * @param session the session
         * @param size    its size
         * @param reason  why
         */
        void dropped(SessionInfo session, int size, String reason);

        /** The session has ended: forget it. */
        void ended();

        /** The DTLS handshake finished (a transport that keeps an older session of the address ends it now). */
        default void established() {
        }
    }

    private final TunnelSession tunnel;
    private final Io io;
    private final DtlsScratch scratch;
    private final DtlsDriver driver;
    /** Where the handshake stands, for a session refused for running out of time (one object, not one per tick). */
    private final java.util.function.Supplier<String> handshakeState;
    private Queue<ByteBuffer> pending;
    private boolean ended;
    private boolean discarding;
    private long delivered;
    private DtlsCookieFront.HelloAssembly assembly;
    /** The wall clock when the handshake began, to tell a resumed session. */
    private final long startedMillis = System.currentTimeMillis();

    /**
     * Creates a session for a new client address whose first datagram is a ClientHello, admitted by the core.
     *
     * @param engine  a server DTLS engine ({@link DtlsEngines#server})
     * @param tunnel  the state machine the core admitted the client with
     * @param io      the transport side
     * @param mtu     the path MTU the handshake flights are sized for
     * @param scratch working buffers of the session's thread
     */
    public DtlsServerSession(SSLEngine engine, TunnelSession tunnel, Io io, int mtu, DtlsScratch scratch) {
        this.tunnel = tunnel;
        this.io = io;
        this.scratch = scratch;
        this.driver = new DtlsDriver(engine, mtu, this);
        this.handshakeState = driver::handshakeState;
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

    /**
     * Starts the handshake of a client whose ClientHello the {@link DtlsCookieFront} verified (it carries the cookie
     * the front handed out, which is this engine's own kind): the engine first gets that hello as it was before the
     * cookie, and its answer, a HelloVerifyRequest the client already had from the front, is discarded; then the
     * verified hello, which it answers with its ServerHello flight. The engine thus stands where it would had it run
     * the cookie exchange itself (message sequence numbers included), and an engine is only ever made for an address
     * that proved it receives.
     *
     * @param verified the verified ClientHello datagram (the whole hello, or its first fragment: the session then
     *                 collects the rest from the client's next datagrams); consumed
     * @param now      {@link System#nanoTime()}
     */
    public void startVerified(ByteBuffer verified, long now) {
        try {
            assembly = new DtlsCookieFront.HelloAssembly(verified);
        } catch (IllegalArgumentException e) {
            act(tunnel.failed("DTLS: " + e.getMessage(), now));
            return;
        }
        if (assembly.add(verified)) {
            prime(now);
        }
    }

    /** The verified hello is whole: the engine gets it, as it was before the cookie and then with it. */
    private void prime(long now) {
        ByteBuffer verified = assembly.whole();
        assembly = null;
        ByteBuffer first = DtlsCookieFront.withoutCookie(verified);
        discarding = true;
        try {
            driver.receive(first, scratch, now);
        } catch (IOException e) {
            discarding = false;
            act(tunnel.failed("DTLS: " + e.getMessage(), now));
            return;
        } finally {
            discarding = false;
        }
        fromClient(verified, now);
    }

    /** @return records that decrypted and were taken (header or data), so far */
    public long recordsDelivered() {
        return delivered;
    }

    /** @return where the DTLS handshake stands ({@link DtlsDriver#handshakeState()}) */
    String handshakeState() {
        return driver.isHandshakeDone() ? "done, " + tunnel : driver.handshakeState();
    }

    /** @return true once the DTLS handshake has finished */
    public boolean isEstablished() {
        return driver.isHandshakeDone();
    }

    /** @return the client's address */
    public SocketAddress client() {
        return tunnel.client();
    }

    /** @return true once the session has ended */
    public boolean isEnded() {
        return ended;
    }

    /**
     * Feeds a datagram from the client.
     *
     * @param datagram the datagram; consumed
     * @param now      {@link System#nanoTime()}
     */
    public void fromClient(ByteBuffer datagram, long now) {
        if (ended) {
            return;
        }
        if (assembly != null) {
            if (assembly.add(datagram)) {
                prime(now);
            }
            return;
        }
        try {
            driver.receive(datagram, scratch, now);
        } catch (SSLException e) {
            act(tunnel.failed("DTLS: " + e.getMessage(), now));
            return;
        } catch (IOException e) {
            act(tunnel.failed("DTLS I/O: " + e, now));
            return;
        }
        if (driver.isClosed() && !ended) {
            if (tunnel.isRelaying()) {
                tunnel.directionEnded(TunnelSession.Direction.TO_DESTINATION, now);
                act(tunnel.close("client sent close_notify"));
            } else if (tunnel.destination() == null) {
                act(tunnel.failed("client closed before sending a header", now));
            } else {
                act(tunnel.close("client went away while the destination was dialled"));
            }
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
        if (ended || !tunnel.isRelaying()) {
            return;
        }
        int size = datagram.remaining();
        if (size > DtlsDriver.MAX_DATAGRAM) {
            io.dropped(tunnel.info(), size, "over the " + DtlsDriver.MAX_DATAGRAM + "-byte DTLS record limit");
            return;
        }
        try {
            driver.send(datagram, scratch);
            tunnel.relayedFromDestination(size, now);
        } catch (IOException e) {
            act(tunnel.close("sending to the client failed: " + e.getMessage()));
        }
    }

    /**
     * The destination's host resolved (on the session's thread).
     *
     * @param addresses in the resolver's order
     */
    public void resolved(List<InetAddress> addresses) {
        act(tunnel.resolved(addresses, System.nanoTime()));
    }

    /**
     * Resolving the destination's host failed.
     *
     * @param why the reason
     */
    public void resolveFailed(String why) {
        act(tunnel.resolveFailed(why, System.nanoTime()));
    }

    /** The destination socket is connected: relay what waited, then everything. */
    public void destinationOpened() {
        Step step = tunnel.dialSucceeded(System.nanoTime());
        if (step != Step.RELAY) {
            io.closeDestination();
        } else {
            byte[] h = tunnel.proxyHeader(io.serverAddress());
            proxyPrefix = h == null ? null : ByteBuffer.wrap(h).asReadOnlyBuffer();
        }
        act(step);
    }

    /**
     * Connecting the destination socket failed; the core may name the next address.
     *
     * @param why the reason
     */
    public void destinationFailed(String why) {
        act(tunnel.dialFailed(why, System.nanoTime()));
    }

    /**
     * Runs timers: DTLS retransmission, and the core's header deadline, dial deadline and idle timeout. Call it
     * every 100 ms or so.
     *
     * @param now {@link System#nanoTime()}
     */
    public void tick(long now) {
        if (ended) {
            return;
        }
        Step step = tunnel.tick(now, handshakeState);
        if (step != Step.WAIT) {
            act(step);
            return;
        }
        if (!driver.isHandshakeDone() && driver.timerDeadline() <= now) {
            try {
                driver.onTimer(scratch, now);
            } catch (IOException e) {
                act(tunnel.failed("DTLS retransmission failed: " + e.getMessage(), now));
            }
        }
    }

    /**
     * Ends the session: close_notify to the client, destination closed, reported closed if it was relaying.
     *
     * @param why the reason, for the log
     */
    public void end(String why) {
        act(tunnel.close(why));
    }

    @Override
    public void transmit(ByteBuffer datagram) throws IOException {
        if (!discarding) {
            io.toClient(datagram);
        }
    }

    @Override
    public void handshakeFinished() {
        javax.net.ssl.SSLSession session = driver.engine().getSession();
        act(tunnel.handshakeDone(null, TunnelSession.peerChain(session),
                TunnelSession.resumedBefore(session, startedMillis), System.nanoTime()));
        if (!ended) {
            io.established();
        }
    }

    @Override
    public void record(ByteBuffer plaintext) {
        if (ended) {
            return;
        }
        delivered++;
        if (tunnel.isRelaying()) {
            toDestination(plaintext);
        } else if (tunnel.destination() == null) {
            act(tunnel.header(plaintext, System.nanoTime()));
        } else if (pending != null && pending.size() < MAX_PENDING) {
            ByteBuffer copy = ByteBuffer.allocate(plaintext.remaining());
            copy.put(plaintext).flip();
            pending.add(copy);
        }
    }

    private void act(Step step) {
        if (ended) {
            return;
        }
        switch (step) {
            case RESOLVE:
                pending = new ArrayDeque<>();
                io.resolve(tunnel.destination().host(), tunnel.dialDeadline());
                return;
            case DIAL:
                if (pending == null) {
                    pending = new ArrayDeque<>();
                }
                io.connect(tunnel.dialAddress());
                return;
            case RELAY:
                if (pending != null) {
                    ByteBuffer b;
                    while ((b = pending.poll()) != null && !ended) {
                        toDestination(b);
                    }
                    pending = null;
                }
                return;
            case WAIT:
                return;
            default:
                finish();
        }
    }

    private void toDestination(ByteBuffer plaintext) {
        int n = plaintext.remaining();
        try {
            ByteBuffer prefix = proxyPrefix;
            if (prefix != null ? io.toDestination(prefix, plaintext) : io.toDestination(plaintext)) {
                tunnel.relayedToDestination(n, System.nanoTime());
            }
        } catch (PortUnreachableException e) {
            // ICMP from the destination: the datagram is lost, the session stays (as with plain UDP)
        } catch (IOException e) {
            act(tunnel.close("writing to the destination failed: " + e.getMessage()));
        }
    }

    private void finish() {
        if (ended) {
            return;
        }
        ended = true;
        tunnel.close("ended");
        pending = null;
        driver.close(scratch);
        io.closeDestination();
        io.ended();
    }
}

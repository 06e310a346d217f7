package io.streamproxy.protocol;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decisions of one server listener (one protocol), shared by all its tunnels and free of I/O: the settings,
 * the admission counters (handshakes under way, sessions relaying), session ids and the listener every event goes
 * to. A transport makes one per listener and asks it for a {@link TunnelSession} for each accepted connection (TCP)
 * or new client address (UDP); from then on the tunnel's state machine decides and the transport only carries out
 * its steps. Counters are updated atomically (compare and set against the limits), so that two transport threads
 * can never admit past a limit between them. Thread-safe.
 */
public final class SessionCore {
    private final Protocol protocol;
    private final StreamServerOptions options;
    private final SessionListener listener;
    private final AtomicInteger handshaking = new AtomicInteger();
    private final AtomicInteger relaying = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();
    private volatile boolean closing;

    /**
     * Creates the core of one listener.
     *
     * @param protocol TCP or UDP
     * @param options  the server settings (timeouts, limits, policy)
     * @param listener where events go; the transport passes one that also logs and that survives a throwing user
     *                 listener (see the internal {@code SessionEvents})
     */
    public SessionCore(Protocol protocol, StreamServerOptions options, SessionListener listener) {
        this.protocol = protocol;
        this.options = options;
        this.listener = listener;
    }

    /**
     * A connection was accepted (TCP) or a new client address sent its first handshake datagram (UDP): admits it
     * within the handshake limit, starting the one deadline that bounds handshake plus header.
     *
     * @param client the client's address
     * @param now    {@link System#nanoTime()} at accept
     * @return the tunnel's state machine, or null when refused for capacity (reported; close the connection)
     */
    public TunnelSession accept(SocketAddress client, long now) {
        if (closing) {
            return null;
        }
        if (!tryAcquire(handshaking, options.maxHandshakes())) {
            refused(client, RefusalReason.CAPACITY, "at the limit of " + options.maxHandshakes() + " handshakes");
            return null;
        }
        return new TunnelSession(this, client, now);
    }

    /** @return connections accepted whose header has not been decided yet */
    public int handshaking() {
        return handshaking.get();
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

    boolean tryAcquireSession() {
        return tryAcquire(relaying, options.maxSessions());
    }

    void releaseSession() {
        relaying.decrementAndGet();
    }

    void releaseHandshake() {
        handshaking.decrementAndGet();
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

package io.streamproxy.transport.jdk;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsRoute;
import io.streamproxy.internal.HandshakeFailures;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.internal.Resolver;
import io.streamproxy.internal.SessionEvents;
import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.TunnelSession.Step;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK transport's shell around the session core for TCP: one blocking thread per connection runs the TLS
 * handshake, reads the header and carries out each {@link TunnelSession} step (resolve on the shared
 * {@link Resolver}, dial each checked address in turn, relay with {@link TcpRelay}); a timer thread enforces the
 * core's deadlines by closing the connection. It owns the threads, the timer and every socket of its sessions, and
 * {@link #close()} ends them all.
 */
final class TcpSessions {
    private static final Logger LOG = LoggerFactory.getLogger(TcpSessions.class);
    private static final long CLOSE_WAIT_MILLIS = 5000;
    private static final long LINGER_MILLIS = 1000;

    private final StreamServerOptions options;
    private final SessionCore core;
    private final Resolver resolver;
    private final ThreadPoolExecutor workers;
    private final ScheduledThreadPoolExecutor timer;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicInteger lingering = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    TcpSessions(StreamServerOptions options, String threadPrefix) {
        this.options = options;
        this.core = new SessionCore(Protocol.TCP, options, SessionEvents.reporting(options.listener()));
        this.resolver = new Resolver(threadPrefix + "-resolve");
        this.workers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                NamedThreads.perConnection(threadPrefix + "-session"));
        this.timer = new ScheduledThreadPoolExecutor(1, new NamedThreads(threadPrefix + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
    }

    SessionCore core() {
        return core;
    }

    ExecutorService workers() {
        return workers;
    }

    boolean isClosed() {
        return closed;
    }

    int activeSessions() {
        return core.activeSessions();
    }

    /** Registers a socket so that {@link #close()} closes it; false (and the socket closed) if already closed. */
    boolean track(Socket socket) {
        sockets.add(socket);
        if (closed) {
            TcpRelay.closeQuietly(socket);
            sockets.remove(socket);
            return false;
        }
        return true;
    }

    void untrack(Socket socket) {
        sockets.remove(socket);
    }

    /**
     * Closes a connection the server refuses without turning the client's last bytes into a reset: half-close, read
     * and drop what the client still sends for a short bounded time (or until it closes), then close. Without this
     * the client's TCP stack may discard our alert or close_notify when our reset overtakes it.
     */
    void lingerClose(Socket raw) {
        try {
            if (!raw.isClosed()) {
                raw.shutdownOutput();
                raw.setSoTimeout((int) LINGER_MILLIS);
                InputStream in = raw.getInputStream();
                byte[] sink = new byte[4096];
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS);
                while (System.nanoTime() < end && in.read(sink) >= 0) {
                    // drop
                }
            }
        } catch (IOException e) {
            // timed out or reset: close now
        } finally {
            TcpRelay.closeQuietly(raw);
        }
    }

    /** One connection: its sockets, its state machine and the timer that enforces the state machine's deadline. */
    private final class Connection {
        final TunnelSession tunnel;
        final SSLSocket socket;
        final Socket raw;
        ScheduledFuture<?> deadline;
        String lastDialFailure;

        Connection(TunnelSession tunnel, SSLSocket socket, Socket raw) {
            this.tunnel = tunnel;
            this.socket = socket;
            this.raw = raw;
        }

        /** Arms the timer for the core's next deadline; when it fires, a step other than WAIT closes the sockets. */
        void arm() {
            long at = tunnel.nextDeadline();
            if (at == Long.MAX_VALUE || closed) {
                return;
            }
            try {
                deadline = timer.schedule(() -> {
                    Step s = tunnel.tick(System.nanoTime());
                    if (s == Step.WAIT) {
                        arm();
                    } else {
                        closeSockets();
                    }
                }, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (RuntimeException e) {
                closeSockets(); // the timer is shut down: the server is closing
            }
        }

        void disarm() {
            ScheduledFuture<?> d = deadline;
            if (d != null) {
                d.cancel(false);
            }
        }

        void closeSockets() {
            TcpRelay.closeQuietly(socket);
            if (raw != null) {
                TcpRelay.closeQuietly(raw);
            }
        }
    }

    /**
     * Serves an accepted connection on the calling thread, from the TLS handshake to the end of its session;
     * always closes it.
     *
     * @param tunnel the state machine the core admitted it with
     * @param socket the server-mode TLS socket over {@code raw}, not yet handshaken, not closing {@code raw}
     * @param raw    the accepted TCP socket
     */
    void serveAccepted(TunnelSession tunnel, SSLSocket socket, Socket raw) {
        Connection c = new Connection(tunnel, socket, raw);
        if (!track(raw)) {
            tunnel.close("server closed");
            return;
        }
        c.arm();
        Step step;
        try {
            long started = System.currentTimeMillis();
            socket.startHandshake();
            step = handshaken(c, started);
        } catch (IOException | RuntimeException e) {
            step = tunnel.handshakeFailed(describe(e), System.nanoTime());
        }
        run(c, step);
    }

    /**
     * Serves a connection a host accepted and handshook itself, on the calling thread; always closes it.
     *
     * @param socket a server-mode socket whose handshake has completed
     */
    void serveHandshaken(SSLSocket socket) {
        TunnelSession tunnel = core.tryAccept(socket.getRemoteSocketAddress(), System.nanoTime());
        if (tunnel == null) {
            TcpRelay.closeQuietly(socket);
            return;
        }
        Connection c = new Connection(tunnel, socket, null);
        if (!track(socket)) {
            tunnel.close("server closed");
            return;
        }
        c.arm();
        Step step;
        try {
            step = handshaken(c, Long.MIN_VALUE); // the host's handshake: when it started is not known
        } catch (RuntimeException e) {
            step = tunnel.failed(e.toString(), System.nanoTime());
        }
        run(c, step);
    }

    /**
     * After the handshake: a route takes the connection, or the core checks the ALPN id. {@code startedMillis} is
     * the wall clock before the handshake began, to tell a resumed session, or {@code Long.MIN_VALUE} if unknown.
     */
    private Step handshaken(Connection c, long startedMillis) {
        String alpn = c.socket.getApplicationProtocol();
        TlsRoute route = options.routeFor(alpn);
        javax.net.ssl.SSLSession session = c.socket.getSession();
        java.security.cert.Certificate[] chain = TunnelSession.peerChain(session);
        boolean resumed = TunnelSession.resumedBefore(session, startedMillis);
        if (route != null && !StreamProtocol.ALPN.equals(alpn)) {
            Step routed = c.tunnel.routed(chain, resumed, System.nanoTime());
            if (routed != Step.END) {
                return routed;
            }
            c.disarm();
            new JdkRouteChannel(c.socket, alpn).serve(route);
            return Step.END;
        }
        return c.tunnel.handshakeDone(alpn, chain, resumed, System.nanoTime());
    }

    /** Carries out the core's steps until the session ends, then frees what it holds. */
    private void run(Connection c, Step first) {
        TunnelSession t = c.tunnel;
        Step step = first;
        Socket upstream = null;
        boolean linger = false;
        try {
            while (true) {
                switch (step) {
                    case WAIT:
                        step = readHeader(c);
                        break;
                    case RESOLVE:
                        step = resolver.resolveAndWait(t);
                        break;
                    case DIAL:
                        upstream = dial(c);
                        step = upstream != null ? t.dialSucceeded(System.nanoTime())
                                : t.dialFailed(c.lastDialFailure, System.nanoTime());
                        if (step != Step.RELAY && upstream != null) {
                            TcpRelay.closeQuietly(upstream);
                            untrack(upstream);
                            upstream = null;
                        }
                        break;
                    case RELAY:
                        c.disarm();
                        c.arm(); // the core's bounds on a relaying tunnel (idle, half-close, lifetime), if any
                        byte[] proxyHeader = t.proxyHeader(c.socket.getLocalSocketAddress());
                        if (proxyHeader != null && !writeFirst(upstream, proxyHeader)) {
                            step = t.relayEnded("writing the PROXY header failed", 0, 0, System.nanoTime());
                            break;
                        }
                        TcpRelay relay = new TcpRelay(c.socket, c.raw, upstream, t);
                        relay.run(workers);
                        step = t.relayEnded(relay.failed() ? "failed" : "both directions ended",
                                relay.bytesToDestination(), relay.bytesFromDestination(), System.nanoTime());
                        break;
                    case REFUSE:
                    case PROBE:
                        linger = t.refusalReason() != RefusalReason.HEADER_TIMEOUT;
                        return;
                    case RESET:
                        c.disarm(); // the timer's close would send close_notify
                        if (c.raw != null) { // a handed-over socket has none, but its handler cannot drain
                            TcpRelay.reset(c.raw); // under TLS: no close_notify goes first
                        }
                        return;
                    case END:
                    default:
                        return;
                }
            }
        } finally {
            c.disarm();
            if (upstream != null) {
                TcpRelay.closeQuietly(upstream);
                untrack(upstream);
            }
            TcpRelay.closeQuietly(c.socket);
            untrack(c.socket);
            if (c.raw != null) {
                // refused connections linger (so the alert is not lost) outside the handshake limit: bounded too
                if (!linger || closed || lingering.incrementAndGet() > options.maxHandshakes()) {
                    TcpRelay.closeQuietly(c.raw);
                } else {
                    lingerClose(c.raw);
                }
                if (linger && !closed) {
                    lingering.decrementAndGet();
                }
                untrack(c.raw);
            }
        }
    }

    /** Writes the PROXY protocol header to the destination before the relay starts. */
    private static boolean writeFirst(Socket upstream, byte[] bytes) {
        try {
            upstream.getOutputStream().write(bytes);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private Step readHeader(Connection c) {
        byte[] header = new byte[StreamProtocol.HEADER_SIZE];
        int total = 0;
        try {
            InputStream in = c.socket.getInputStream();
            while (total < header.length) {
                int n = in.read(header, total, header.length - total);
                if (n < 0) {
                    return c.tunnel.clientEnded(total, System.nanoTime());
                }
                total += n;
            }
        } catch (IOException e) {
            return c.tunnel.failed("reading the header failed: " + e.getMessage(), System.nanoTime());
        }
        return c.tunnel.header(ByteBuffer.wrap(header), System.nanoTime());
    }

    /** Connects to the core's current address within the time the dial deadline leaves; null on failure. */
    private Socket dial(Connection c) {
        TunnelSession t = c.tunnel;
        Socket attempt = new Socket();
        if (!track(attempt)) {
            c.lastDialFailure = "server closed";
            return null;
        }
        try {
            attempt.setTcpNoDelay(true);
            attempt.setKeepAlive(true);
            attempt.connect(t.dialAddress(), t.dialMillisLeft(System.nanoTime()));
            return attempt;
        } catch (IOException e) {
            c.lastDialFailure = e.getMessage() == null ? e.toString() : e.getMessage();
            TcpRelay.closeQuietly(attempt);
            untrack(attempt);
            return null;
        }
    }

    static String describe(Exception e) {
        if (e instanceof javax.net.ssl.SSLException) {
            return "TLS: " + HandshakeFailures.serverReason(e);
        }
        return e.toString();
    }

    /**
     * Holds a connection that waits for a handshake slot: it is closed with the server, and when its deadline
     * passes still waiting (the core then refuses it for capacity).
     */
    void holdWhileWaiting(TunnelSession tunnel, Socket raw) {
        if (!track(raw)) {
            tunnel.close("server closed");
            return;
        }
        try {
            timer.schedule(() -> {
                if (tunnel.tick(System.nanoTime()) != Step.WAIT && tunnel.refusalReason() == RefusalReason.CAPACITY) {
                    untrack(raw);
                    TcpRelay.closeQuietly(raw);
                }
            }, Math.max(0, tunnel.nextDeadline() - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (RuntimeException e) {
            tunnel.close("server closed");
            TcpRelay.closeQuietly(raw);
        }
    }

    /** Ends every session, closes every socket, stops every thread; waits a bounded time for them. */
    void close() {
        closed = true;
        core.closing();
        for (Socket s : sockets) {
            TcpRelay.closeQuietly(s);
        }
        workers.shutdown();
        timer.shutdownNow();
        resolver.close();
        try {
            if (!workers.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                workers.shutdownNow();
                LOG.warn("TCP session threads still running {} ms after close", CLOSE_WAIT_MILLIS);
            }
            timer.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

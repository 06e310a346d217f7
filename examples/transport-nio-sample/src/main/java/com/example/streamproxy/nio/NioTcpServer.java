package com.example.streamproxy.nio;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.TlsRoute;
import io.streamproxy.protocol.HeaderCodec;
import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.StreamHeader;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.TunnelSession.Step;
import io.streamproxy.spi.ServerEndpoint;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sample's TCP-over-TLS listener. An accept thread admits each connection through the {@link SessionCore} (it
 * stops accepting while every handshake slot is held, so a burst waits in the listen backlog) and hands it to a
 * session thread, which runs the TLS handshake and then carries out each {@link Step} of the connection's
 * {@link TunnelSession}: read exactly the header, resolve, dial each checked address, relay both ways (a second
 * thread for the destination's direction), end. One timer thread enforces the core's deadlines by closing the
 * connection. {@link #close()} ends every session and stops every thread within a bounded wait.
 */
final class NioTcpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(NioTcpServer.class);
    private static final int BACKLOG = 1024;
    private static final int BUFFER = 16 * 1024;
    private static final long CLOSE_WAIT_MILLIS = 5000;
    private static final int LINGER_MILLIS = 1000;
    private static final long BACKOFF_MILLIS = 100;
    private static final String[] TLS_VERSIONS = {"TLSv1.3", "TLSv1.2"};

    private final StreamServerOptions options;
    private final Set<Defect> defects;
    private final SSLContext tls;
    private final ServerSocketChannel listener;
    private final InetSocketAddress localAddress;
    private final SessionCore core;
    private final ThreadPoolExecutor workers;
    private final ScheduledThreadPoolExecutor timer;
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger lingering = new AtomicInteger();
    private final Object gate = new Object();
    private final Thread acceptor;
    private volatile boolean closed;

    NioTcpServer(StreamServerOptions options, Set<Defect> defects) throws IOException {
        this.options = options;
        this.defects = defects;
        try {
            this.tls = defects.contains(Defect.TRUSTS_ANY_CLIENT_CA) ? trustingAnyClient(options.credentials())
                    : options.credentials().newSslContext("TLS");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
        this.listener = ServerSocketChannel.open();
        try {
            listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            listener.bind(options.tcpAddress(), BACKLOG);
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + options.tcpAddress() + ": " + e.getMessage(), e);
        }
        this.localAddress = (InetSocketAddress) listener.getLocalAddress();
        this.core = new SessionCore(Protocol.TCP, options,
                new ReportingListener(options.listener(), defects.contains(Defect.LOGS_PROBES_AS_ERRORS)));
        core.onCapacity(this::signalCapacity);
        this.workers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new DaemonThreads("nio-sample-session"));
        this.timer = new ScheduledThreadPoolExecutor(1, new DaemonThreads("nio-sample-timer"));
        timer.setRemoveOnCancelPolicy(true);
        this.acceptor = new DaemonThreads("nio-sample-accept").newThread(this::acceptLoop);
        acceptor.start();
        LOG.info("nio-sample TCP server listening on {}", localAddress);
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int activeSessions() {
        return core.activeSessions();
    }

    @Override
    public String description() {
        return "nio-sample (blocking SocketChannel, JDK SSLEngine)";
    }

    // ------------------------------------------------------------------ accepting

    private void acceptLoop() {
        while (!closed) {
            try {
                awaitCapacity();
                SocketChannel channel;
                try {
                    channel = listener.accept();
                } catch (IOException e) {
                    if (closed) {
                        return;
                    }
                    LOG.warn("accept failed on {} (backing off {} ms): {}", localAddress, BACKOFF_MILLIS, e.toString());
                    backOff();
                    continue;
                }
                SocketAddress client = channel.getRemoteAddress();
                TunnelSession tunnel = core.accept(client, System.nanoTime(), t -> start(channel, t));
                if (tunnel == null) {
                    closeQuietly(channel);
                } else if (tunnel.isWaiting()) {
                    holdWhileWaiting(tunnel, channel);
                }
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.error("accept loop on {} failed; it goes on", localAddress, e);
                backOff();
            }
        }
    }

    /** While every handshake slot is held, new connections stay in the listen backlog (waits are bounded). */
    private void awaitCapacity() {
        synchronized (gate) {
            while (core.saturated() && !closed) {
                try {
                    gate.wait(BACKOFF_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void signalCapacity() {
        synchronized (gate) {
            gate.notifyAll();
        }
    }

    private void backOff() {
        synchronized (gate) {
            try {
                gate.wait(BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A connection that waits for a handshake slot is closed with the server, or when the core gives up on it. */
    private void holdWhileWaiting(TunnelSession tunnel, SocketChannel channel) {
        if (!track(channel)) {
            tunnel.close("server closed");
            return;
        }
        try {
            timer.schedule(() -> {
                if (tunnel.tick(System.nanoTime()) != Step.WAIT && tunnel.refusalReason() == RefusalReason.CAPACITY) {
                    untrack(channel);
                    closeQuietly(channel);
                }
            }, Math.max(0, tunnel.nextDeadline() - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            tunnel.close("server closed");
            closeQuietly(channel);
        }
    }

    /** The core gave the connection a handshake slot: it runs on a session thread from now on. */
    private void start(SocketChannel channel, TunnelSession tunnel) {
        try {
            workers.execute(() -> serve(channel, tunnel));
        } catch (RejectedExecutionException e) {
            tunnel.close("server closed");
            closeQuietly(channel);
        }
    }

    // ------------------------------------------------------------------ one connection

    /** What one connection holds, and the timer that enforces its tunnel's next deadline. */
    private final class Connection {
        final TunnelSession tunnel;
        final SocketChannel channel;
        TlsChannel tls;
        volatile SocketChannel upstream;
        volatile ScheduledFuture<?> deadline;
        String lastDialFailure;

        Connection(TunnelSession tunnel, SocketChannel channel) {
            this.tunnel = tunnel;
            this.channel = channel;
        }

        /** Arms the timer for the core's next deadline; a step other than WAIT when it fires closes the sockets. */
        void arm() {
            long at = tunnel.nextDeadline();
            if (at == Long.MAX_VALUE || closed) {
                return;
            }
            try {
                deadline = timer.schedule(() -> {
                    if (tunnel.tick(System.nanoTime()) == Step.WAIT) {
                        arm();
                    } else {
                        closeSockets();
                    }
                }, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                closeSockets(); // the server is closing
            }
        }

        void disarm() {
            ScheduledFuture<?> d = deadline;
            if (d != null) {
                d.cancel(false);
            }
        }

        void closeSockets() {
            closeQuietly(channel);
            SocketChannel up = upstream;
            if (up != null) {
                closeQuietly(up);
            }
        }
    }

    private void serve(SocketChannel channel, TunnelSession tunnel) {
        Connection c = new Connection(tunnel, channel);
        if (!track(channel)) {
            tunnel.close("server closed");
            return;
        }
        if (defects.contains(Defect.LEAKS_A_THREAD_PER_SESSION)) {
            leakWatchdog();
        }
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.setOption(StandardSocketOptions.SO_KEEPALIVE, !defects.contains(Defect.NO_KEEPALIVE));
            SSLEngine engine = tls.createSSLEngine();
            engine.setUseClientMode(false);
            SSLParameters p = engine.getSSLParameters();
            p.setProtocols(TLS_VERSIONS);
            p.setNeedClientAuth(true);
            p.setApplicationProtocols(options.alpnProtocols().toArray(new String[0]));
            engine.setSSLParameters(p);
            c.tls = new TlsChannel(channel, engine);
        } catch (IOException | RuntimeException e) {
            tunnel.failed(e.toString(), System.nanoTime());
            untrack(channel);
            closeQuietly(channel);
            return;
        }
        if (!defects.contains(Defect.IGNORES_HEADER_TIMEOUT)) {
            c.arm();
        }
        Step step;
        try {
            long started = System.currentTimeMillis();
            c.tls.handshake();
            step = handshaken(c, started);
        } catch (IOException | RuntimeException e) {
            step = tunnel.handshakeFailed("TLS: " + e.getMessage(), System.nanoTime());
        }
        run(c, step);
    }

    /** After the handshake: a route takes the connection, or the core checks the ALPN id. */
    private Step handshaken(Connection c, long startedMillis) {
        String alpn = c.tls.engine.getApplicationProtocol();
        TlsRoute route = options.routeFor(alpn);
        // the chain, which the core checks against its dates: a resumed session's handshake checks nothing
        javax.net.ssl.SSLSession session = c.tls.engine.getSession();
        java.security.cert.Certificate[] chain = TunnelSession.peerChain(session);
        boolean resumed = TunnelSession.resumedBefore(session, startedMillis);
        if (route != null && !StreamProtocol.ALPN.equals(alpn)) {
            Step routed = c.tunnel.routed(chain, resumed, System.nanoTime());
            if (routed != Step.END) {
                return routed;
            }
            c.disarm();
            serveRoute(c.tls, route, alpn);
            return Step.END;
        }
        return c.tunnel.handshakeDone(alpn, chain, resumed, System.nanoTime());
    }

    /** Carries out the core's steps until the tunnel ends, then frees what it holds. */
    private void run(Connection c, Step first) {
        TunnelSession t = c.tunnel;
        Step step = first;
        boolean linger = false;
        try {
            while (true) {
                switch (step) {
                    case WAIT:
                        step = readHeader(c);
                        break;
                    case RESOLVE:
                        step = resolve(t);
                        break;
                    case DIAL:
                        if (defects.contains(Defect.IGNORES_DIAL_TIMEOUT)) {
                            c.disarm();
                        }
                        SocketChannel up = dial(c);
                        step = up != null ? t.dialSucceeded(System.nanoTime())
                                : t.dialFailed(c.lastDialFailure, System.nanoTime());
                        if (step != Step.RELAY && up != null) {
                            closeUpstream(c);
                        }
                        break;
                    case RELAY:
                        c.disarm();
                        step = relay(c);
                        break;
                    case REFUSE:
                    case PROBE:
                        linger = t.refusalReason() != RefusalReason.HEADER_TIMEOUT;
                        return;
                    case RESET:
                        c.tls.reset(); // a probe while draining: no close_notify, so the prober sees a refusal
                        return;
                    case END:
                    default:
                        return;
                }
            }
        } catch (RuntimeException e) {
            LOG.error("session from {} failed", t.client(), e);
            t.failed(e.toString(), System.nanoTime());
        } finally {
            c.disarm();
            closeUpstream(c);
            // a refused connection lingers a moment (so its alert is not overtaken by a reset), bounded in number
            boolean counted = linger && !closed;
            if (counted && lingering.incrementAndGet() <= options.maxHandshakes()) {
                c.tls.drainAndClose(LINGER_MILLIS);
            } else {
                c.tls.close();
            }
            if (counted) {
                lingering.decrementAndGet();
            }
            untrack(c.channel);
        }
    }

    private Step readHeader(Connection c) {
        ByteBuffer header = ByteBuffer.allocate(StreamProtocol.HEADER_SIZE);
        try {
            while (header.hasRemaining()) {
                if (c.tls.read(header) < 0) {
                    return c.tunnel.clientEnded(header.position(), System.nanoTime());
                }
            }
        } catch (IOException e) {
            return c.tunnel.failed("reading the header failed: " + e.getMessage(), System.nanoTime());
        }
        header.flip();
        if (defects.contains(Defect.DROPS_PIPELINED_BYTES)) {
            c.tls.dropBuffered();
        }
        if (defects.contains(Defect.DIALS_BEFORE_POLICY)) {
            dialBeforeAsking(header.duplicate());
        }
        return c.tunnel.header(header, System.nanoTime());
    }

    /** Resolves on the session thread; the core's dial deadline still bounds it (the timer closes the client). */
    private static Step resolve(TunnelSession t) {
        try {
            return t.resolved(List.of(InetAddress.getAllByName(t.destination().host())), System.nanoTime());
        } catch (UnknownHostException e) {
            return t.resolveFailed(e.getMessage() == null ? "unknown host" : e.getMessage(), System.nanoTime());
        }
    }

    /** Connects to the core's current address within what the dial deadline leaves; null on failure. */
    private SocketChannel dial(Connection c) {
        SocketChannel attempt;
        try {
            attempt = SocketChannel.open();
        } catch (IOException e) {
            c.lastDialFailure = e.toString();
            return null;
        }
        c.upstream = attempt;
        if (!track(attempt)) {
            c.lastDialFailure = "server closed";
            return null;
        }
        try {
            attempt.setOption(StandardSocketOptions.TCP_NODELAY, true);
            attempt.setOption(StandardSocketOptions.SO_KEEPALIVE, !defects.contains(Defect.NO_KEEPALIVE));
            attempt.socket().connect(c.tunnel.dialAddress(), defects.contains(Defect.IGNORES_DIAL_TIMEOUT) ? 0
                    : c.tunnel.dialMillisLeft(System.nanoTime()));
            return attempt;
        } catch (IOException e) {
            c.lastDialFailure = e.getMessage() == null ? e.toString() : e.getMessage();
            closeUpstream(c);
            return null;
        }
    }

    private void closeUpstream(Connection c) {
        SocketChannel up = c.upstream;
        if (up != null) {
            c.upstream = null;
            closeQuietly(up);
            untrack(up);
        }
    }

    // ------------------------------------------------------------------ relaying

    /**
     * Relays both ways until both directions ended: this thread carries client to destination, a second one the
     * way back. An end of stream is passed on as a half-close; a reset or failure on one side resets the other.
     */
    private Step relay(Connection c) {
        SocketChannel up = c.upstream;
        TlsChannel client = c.tls;
        TunnelSession t = c.tunnel;
        AtomicBoolean aborted = new AtomicBoolean();
        long[] fromDestination = new long[1];
        CountDownLatch back = new CountDownLatch(1);
        try {
            workers.execute(() -> {
                try {
                    fromDestination[0] = relayBack(client, up, t, aborted);
                } finally {
                    back.countDown();
                }
            });
        } catch (RejectedExecutionException e) {
            return t.relayEnded("server closed", 0, 0, System.nanoTime());
        }
        long toDestination = 0;
        ByteBuffer buf = ByteBuffer.allocate(BUFFER);
        try {
            while (true) {
                buf.clear();
                int n = client.read(buf);
                if (n < 0) {
                    up.shutdownOutput();
                    t.directionEnded(TunnelSession.Direction.TO_DESTINATION, System.nanoTime());
                    if (defects.contains(Defect.TURNS_HALF_CLOSE_INTO_FULL_CLOSE)) {
                        client.closeGracefully();
                    }
                    break;
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    up.write(buf);
                }
                toDestination += n;
            }
        } catch (IOException e) {
            if (aborted.compareAndSet(false, true)) {
                // the client reset or failed: the destination must not take it for a clean end
                resetQuietly(up);
                client.close();
            }
        }
        try {
            while (!back.await(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                if (closed) {
                    c.closeSockets();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            c.closeSockets();
        }
        return t.relayEnded(aborted.get() ? "failed" : "both directions ended", toDestination, fromDestination[0],
                System.nanoTime());
    }

    /** Destination to client, on its own thread; returns the bytes relayed. */
    private long relayBack(TlsChannel client, SocketChannel up, TunnelSession t, AtomicBoolean aborted) {
        ByteBuffer buf = ByteBuffer.allocate(BUFFER);
        long total = 0;
        boolean readingDestination = true;
        try {
            while (true) {
                buf.clear();
                readingDestination = true;
                int n = up.read(buf);
                if (n < 0) {
                    client.shutdownOutput();
                    t.directionEnded(TunnelSession.Direction.FROM_DESTINATION, System.nanoTime());
                    return total;
                }
                buf.flip();
                readingDestination = false;
                client.write(buf);
                total += n;
            }
        } catch (IOException e) {
            if (aborted.compareAndSet(false, true)) {
                if (readingDestination && defects.contains(Defect.TURNS_RESET_INTO_CLEAN_END)) {
                    client.closeGracefully();
                } else if (readingDestination) {
                    client.reset(); // a destination that reset: the client must see a reset, not an end
                } else {
                    client.close();
                }
                resetQuietly(up);
            }
            return total;
        }
    }

    // ------------------------------------------------------------------ routes

    /** Serves a route connection on this thread until either side ends it; idle for too long, it is closed. */
    private void serveRoute(TlsChannel tls, TlsRoute route, String alpn) {
        RouteChannel channel = new RouteChannel(tls, alpn);
        TlsRoute.Connection connection = route.open(channel);
        ByteBuffer buf = ByteBuffer.allocate(BUFFER);
        ScheduledFuture<?> idle = null;
        try {
            while (true) {
                idle = scheduleIdleClose(tls, idle);
                buf.clear();
                if (tls.read(buf) < 0) {
                    break;
                }
                buf.flip();
                connection.received(buf);
            }
        } catch (IOException e) {
            // the client went away, or the route closed the connection
        } catch (RuntimeException e) {
            LOG.warn("route {} failed", alpn, e);
        } finally {
            if (idle != null) {
                idle.cancel(false);
            }
            try {
                connection.closed();
            } catch (RuntimeException e) {
                LOG.warn("route {} failed on close", alpn, e);
            }
            tls.close();
        }
    }

    private ScheduledFuture<?> scheduleIdleClose(TlsChannel tls, ScheduledFuture<?> previous) {
        if (previous != null) {
            previous.cancel(false);
        }
        try {
            return timer.schedule(tls::close, TlsRoute.IDLE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (RejectedExecutionException e) {
            tls.close();
            return null;
        }
    }

    // ------------------------------------------------------------------ the rest

    private boolean track(Closeable c) {
        open.add(c);
        if (closed) {
            open.remove(c);
            closeQuietly(c);
            return false;
        }
        return true;
    }

    private void untrack(Closeable c) {
        open.remove(c);
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    private static void resetQuietly(SocketChannel c) {
        try {
            c.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException e) {
            // closed already
        }
        closeQuietly(c);
    }

    /** The defect {@link Defect#DIALS_BEFORE_POLICY}: connects to the header's destination before the core decides. */
    private static void dialBeforeAsking(ByteBuffer header) {
        try {
            StreamHeader h = HeaderCodec.decode(header);
            if (h.isHealthProbe()) {
                return;
            }
            try (SocketChannel early = SocketChannel.open()) {
                early.socket().connect(new InetSocketAddress(h.host(), Integer.parseInt(h.port())), 1000);
            }
        } catch (IOException | RuntimeException e) {
            // the defect only adds a dial; the core decides as before
        }
    }

    /** The defect {@link Defect#LEAKS_A_THREAD_PER_SESSION}: a watchdog nobody stops (it gives up after a minute). */
    private static void leakWatchdog() {
        Thread t = new DaemonThreads("nio-sample-watchdog").newThread(() -> {
            try {
                new CountDownLatch(1).await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
    }

    /** The defect {@link Defect#TRUSTS_ANY_CLIENT_CA}: presents the server's certificate and trusts every client. */
    private static SSLContext trustingAnyClient(TlsCredentials credentials) throws GeneralSecurityException {
        char[] password = new char[0];
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try {
            keys.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        keys.setKeyEntry("self", credentials.privateKey(), password,
                credentials.certificateChain().toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        TrustManager anyone = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), new TrustManager[] {anyone}, new SecureRandom());
        return context;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        core.closing();
        closeQuietly(listener);
        for (Closeable c : open) {
            closeQuietly(c);
        }
        signalCapacity();
        workers.shutdown();
        timer.shutdownNow();
        try {
            if (!workers.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                workers.shutdownNow();
                LOG.warn("session threads still running {} ms after close", CLOSE_WAIT_MILLIS);
            }
            timer.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            acceptor.join(CLOSE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("nio-sample TCP server on {} closed", localAddress);
    }
}

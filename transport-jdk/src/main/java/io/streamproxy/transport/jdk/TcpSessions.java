package io.streamproxy.transport.jdk;

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
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of TCP tunnels on handshaken TLS sockets: reads the header within the deadline, applies
 * {@link SessionRules}, dials the destination and relays. It owns the worker threads, the deadline timer and every
 * socket of its sessions, and {@link #close()} ends them all.
 */
final class TcpSessions {
    private static final Logger LOG = LoggerFactory.getLogger(TcpSessions.class);
    private static final long CLOSE_WAIT_MILLIS = 5000;
    private static final long LINGER_MILLIS = 1000;

    private final StreamServerOptions options;
    private final SessionEvents events;
    private final ThreadPoolExecutor workers;
    private final ScheduledThreadPoolExecutor timer;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger activeSessions = new AtomicInteger();
    private final AtomicLong sessionIds = new AtomicLong();
    private volatile boolean closed;

    TcpSessions(StreamServerOptions options, String threadPrefix) {
        this.options = options;
        this.events = new SessionEvents(options.listener());
        this.workers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new NamedThreads(threadPrefix + "-session"));
        this.timer = new ScheduledThreadPoolExecutor(1, new NamedThreads(threadPrefix + "-timer"));
        this.timer.setRemoveOnCancelPolicy(true);
    }

    ExecutorService workers() {
        return workers;
    }

    boolean isClosed() {
        return closed;
    }

    int activeSessions() {
        return activeSessions.get();
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

    /** Closes {@code socket} when the deadline passes unless the returned task is cancelled first. */
    ScheduledFuture<?> deadline(Socket socket, AtomicBoolean expired) {
        return timer.schedule(() -> {
            expired.set(true);
            TcpRelay.closeQuietly(socket);
        }, options.headerTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    void refused(SocketAddress client, RefusalReason reason, String detail) {
        events.refused(Protocol.TCP, client, reason, detail);
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

    /**
     * Serves one handshaken socket on the calling thread until its session ends; always closes it. The header read
     * is bounded by {@code deadline} (already running) or, when null, by a new header timeout from now. When the
     * server owns the TCP socket under the TLS one ({@code raw}, not closed with it), a refused connection is
     * closed with {@link #lingerClose}.
     */
    void serve(SSLSocket socket, ScheduledFuture<?> deadline, AtomicBoolean expired, Socket raw) {
        SocketAddress client = socket.getRemoteSocketAddress();
        if (!track(socket)) {
            return;
        }
        boolean relayed = false;
        AtomicBoolean timedOut = expired != null ? expired : new AtomicBoolean();
        ScheduledFuture<?> timeout = deadline != null ? deadline : deadline(socket, timedOut);
        try {
            String alpn = socket.getApplicationProtocol();
            if (!StreamProtocol.ALPN.equals(alpn)) {
                refused(client, RefusalReason.HANDSHAKE_FAILED, "client did not negotiate ALPN "
                        + StreamProtocol.ALPN + " (got '" + (alpn == null ? "" : alpn) + "')");
                return;
            }
            byte[] header = new byte[StreamProtocol.HEADER_SIZE];
            int n;
            try {
                n = readFully(socket.getInputStream(), header);
            } catch (IOException e) {
                if (timedOut.get()) {
                    refused(client, RefusalReason.HEADER_TIMEOUT, "no header within " + options.headerTimeout());
                } else if (!closed) {
                    refused(client, RefusalReason.INVALID_HEADER, "reading the header failed: " + e.getMessage());
                }
                return;
            }
            if (!timeout.cancel(false) || timedOut.get()) {
                refused(client, RefusalReason.HEADER_TIMEOUT, "no header within " + options.headerTimeout());
                return;
            }
            SessionDecision decision = SessionRules.decide(ByteBuffer.wrap(header, 0, n), options.policy());
            switch (decision.action()) {
                case CLOSE_QUIETLY:
                    events.probe(Protocol.TCP, client);
                    return;
                case REFUSE:
                    refused(client, decision.reason(), decision.detail());
                    return;
                default:
                    relayed = true;
                    relay(socket, raw, client, decision.destination());
            }
        } finally {
            timeout.cancel(false);
            TcpRelay.closeQuietly(socket);
            untrack(socket);
            if (raw != null) {
                if (relayed || timedOut.get() || closed) {
                    TcpRelay.closeQuietly(raw);
                } else {
                    lingerClose(raw);
                }
                untrack(raw);
            }
        }
    }

    private void relay(SSLSocket socket, Socket raw, SocketAddress client, Destination destination) {
        if (activeSessions.incrementAndGet() > options.maxSessions()) {
            activeSessions.decrementAndGet();
            refused(client, RefusalReason.CAPACITY, "at the limit of " + options.maxSessions() + " sessions");
            return;
        }
        Socket upstream = null;
        try {
            try {
                upstream = dial(destination);
            } catch (IOException e) {
                if (!closed) {
                    refused(client, RefusalReason.DIAL_FAILED, "dialling " + destination + ": " + e.getMessage());
                }
                return;
            }
            SessionInfo info = new SessionInfo(sessionIds.incrementAndGet(), Protocol.TCP, client, destination);
            events.opened(info);
            TcpRelay relay = new TcpRelay(socket, raw, upstream);
            relay.run(workers);
            events.closed(info, relay.failed() ? "failed" : "both directions ended", relay.bytesToDestination(),
                    relay.bytesFromDestination());
        } finally {
            if (upstream != null) {
                TcpRelay.closeQuietly(upstream);
                untrack(upstream);
            }
            activeSessions.decrementAndGet();
        }
    }

    /**
     * Resolves (for names) and connects within the dial timeout, trying each address in turn; the socket returned
     * is tracked, so that closing the server closes it.
     */
    private Socket dial(Destination destination) throws IOException {
        long deadline = System.nanoTime() + options.dialTimeout().toNanos();
        InetAddress[] addresses = resolve(destination.host(), deadline);
        IOException last = null;
        for (InetAddress address : addresses) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                break;
            }
            Socket attempt = new Socket();
            if (!track(attempt)) {
                throw new IOException("server closed");
            }
            try {
                attempt.setTcpNoDelay(true);
                attempt.connect(new InetSocketAddress(address, destination.port()),
                        (int) Math.min(left, Integer.MAX_VALUE));
                return attempt;
            } catch (IOException e) {
                last = e;
                TcpRelay.closeQuietly(attempt);
                untrack(attempt);
                if (closed) {
                    throw e;
                }
            }
        }
        if (last == null) {
            throw new SocketTimeoutException("dial timeout " + options.dialTimeout() + " passed");
        }
        throw last;
    }

    private InetAddress[] resolve(String host, long deadline) throws IOException {
        if (isIpLiteral(host)) {
            return InetAddress.getAllByName(host);
        }
        Future<InetAddress[]> lookup = workers.submit(() -> InetAddress.getAllByName(host));
        try {
            return lookup.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            lookup.cancel(true);
            throw new SocketTimeoutException("resolving " + host + " took longer than " + options.dialTimeout());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IOException ? (IOException) cause : new IOException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while resolving " + host);
        }
    }

    static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return true;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(c >= '0' && c <= '9') && c != '.') {
                return false;
            }
        }
        return true;
    }

    private static int readFully(InputStream in, byte[] buffer) throws IOException {
        int total = 0;
        while (total < buffer.length) {
            int n = in.read(buffer, total, buffer.length - total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** Ends every session, closes every socket, stops every thread; waits a bounded time for them. */
    void close() {
        closed = true;
        for (Socket s : sockets) {
            TcpRelay.closeQuietly(s);
        }
        workers.shutdown();
        timer.shutdownNow();
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

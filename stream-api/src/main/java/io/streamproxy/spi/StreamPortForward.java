package io.streamproxy.spi;

import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.TcpTunnel;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default TCP {@link PortForward}, for transports whose tunnels are blocking streams: every accepted connection
 * gets its own tunnel and two threads that copy each direction; end of stream on one side half-closes the other, a
 * failure resets the local connection (SO_LINGER 0) and closes the tunnel, and each side is closed when both
 * directions end. At most 512 connections are relayed at once; one past that is reset at once.
 */
final class StreamPortForward implements PortForward {
    /** How long the listener waits after a failed accept (out of descriptors) before it tries again. */
    private static final java.time.Duration ACCEPT_BACKOFF = java.time.Duration.ofMillis(100);
    private static final Logger LOG = LoggerFactory.getLogger(StreamPortForward.class);
    private static final int MAX_CONNECTIONS = 512;

    private final TcpClientTransport transport;
    private final Destination destination;
    private final ServerSocket listener;
    private final ExecutorService threads = new ThreadPoolExecutor(0, 2 * MAX_CONNECTIONS + 1, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "stream-proxy-forward");
                t.setDaemon(true);
                return t;
            });
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private final Set<Object> finished = ConcurrentHashMap.newKeySet();
    /** Failures in runs: a client that reconnects in a loop while the server is down logs a line, not thousands. */
    private final FailureRunLog failures;
    private final FailureRunLog acceptFailures;
    private volatile boolean closed;

    StreamPortForward(TcpClientTransport transport, Destination destination, InetSocketAddress listen)
            throws IOException {
        this.transport = transport;
        this.destination = destination;
        this.listener = new ServerSocket();
        try {
            listener.setReuseAddress(true);
            listener.bind(listen, 256);
        } catch (IOException e) {
            listener.close();
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
        String name = "TCP forward " + listener.getLocalSocketAddress() + " -> " + destination;
        this.failures = new FailureRunLog(LOG, name, "connection");
        this.acceptFailures = new FailureRunLog(LOG, name, "accept");
        threads.execute(this::acceptLoop);
    }

    @Override
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    @Override
    public Destination destination() {
        return destination;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket local;
            try {
                local = listener.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // out of descriptors (EMFILE) or the like: said once per run, backed off, no spinning
                acceptFailures.failed(null, e.toString(),
                        " (trying again every " + DurationText.of(ACCEPT_BACKOFF) + ")", "", System.nanoTime());
                parkAfterFailure();
                continue;
            }
            acceptFailures.succeeded("");
            try {
                threads.execute(() -> serve(local));
            } catch (RuntimeException e) {
                abort(local); // every thread is busy: the local client sees a reset, not a silent hang
            }
        }
    }

    private static void parkAfterFailure() {
        java.util.concurrent.locks.LockSupport.parkNanos(ACCEPT_BACKOFF.toNanos());
    }

    private void serve(Socket local) {
        open.add(local);
        TcpTunnel tunnel = null;
        try {
            local.setTcpNoDelay(true);
            local.setKeepAlive(true);
            tunnel = transport.open(destination);
            open.add(tunnel);
            TcpTunnel t = tunnel;
            threads.execute(() -> pump(local::getInputStream, t.output(), t::shutdownOutput, local, t, false));
            pump(t::input, local.getOutputStream(), local::shutdownOutput, local, t, true);
        } catch (IOException | RuntimeException e) {
            failures.failed(local.getRemoteSocketAddress(), e.toString(), "", "", System.nanoTime());
            // nothing relays them (the tunnel failed to open, or no thread was left for its second pump)
            abort(local);
            if (tunnel != null) {
                close(tunnel);
            }
        }
    }

    private interface Source {
        InputStream get() throws IOException;
    }

    private interface HalfClose {
        void run() throws IOException;
    }

    /** Copies one direction; on end of stream half-closes the other side; the second direction to end closes. */
    private void pump(Source source, OutputStream out, HalfClose halfClose, Socket local, TcpTunnel tunnel,
                      boolean fromTunnel) {
        RelayBuffer buffer = new RelayBuffer(fromTunnel ? RelayBuffer.TLS_RECORD // a TLS record at most per read
                : RelayBuffer.TCP); // small while the tunnel is idle
        try {
            InputStream in = source.get();
            boolean unproven = fromTunnel; // until the tunnel's first byte shows the server relays
            int n;
            while ((n = in.read(buffer.array())) >= 0) {
                if (unproven) {
                    unproven = false;
                    failures.succeeded(""); // a run of failures, if any, ended
                }
                out.write(buffer.array(), 0, n);
                out.flush();
                buffer.read(n);
            }
            if (unproven) {
                failures.succeeded(""); // a clean end of a tunnel that sent nothing: it worked too
            }
            halfClose.run();
            if (!finished.add(tunnel)) {
                finished.remove(tunnel);
                close(local);
                close(tunnel);
            }
        } catch (IOException e) {
            if (e instanceof javax.net.ssl.SSLException) {
                // the tunnel's TLS failed after its handshake: in TLS 1.3 that is how a server refuses the client's
                // certificate (its alert is in the message), which the operator must learn of
                String m = String.valueOf(e.getMessage());
                failures.failed(local.getRemoteSocketAddress(), m.startsWith("certificate refused: ") ? m
                        : "TLS failed: " + m, "", "", System.nanoTime());
            }
            finished.remove(tunnel);
            abort(local); // a failure on either side reaches each peer as a reset, not a clean end
            open.remove(tunnel);
            try {
                tunnel.abort();
            } catch (IOException | RuntimeException ex) {
                // closing
            }
        }
    }

    private void abort(Socket local) {
        try {
            local.setSoLinger(true, 0);
        } catch (IOException | RuntimeException e) {
            // already closed
        }
        close(local);
    }

    private void close(Closeable c) {
        open.remove(c);
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        for (Closeable c : open) {
            close(c);
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

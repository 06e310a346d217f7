package io.streamproxy.cli;

import io.streamproxy.Destination;
import io.streamproxy.StreamClient;
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
 * Local TCP port forwarding: every accepted connection gets its own tunnel to the destination; bytes flow both ways
 * with half-close passed on, and each side is closed when both directions end.
 */
final class TcpForwarder implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(TcpForwarder.class);

    private final StreamClient client;
    private final Destination destination;
    private final ServerSocket listener;
    private final ExecutorService threads = new ThreadPoolExecutor(0, 1024, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "stream-proxy-forward");
                t.setDaemon(true);
                return t;
            });
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    TcpForwarder(StreamClient client, Destination destination, InetSocketAddress listen) throws IOException {
        this.client = client;
        this.destination = destination;
        this.listener = new ServerSocket();
        try {
            listener.setReuseAddress(true);
            listener.bind(listen, 256);
        } catch (IOException e) {
            listener.close();
            throw new CliException("cannot listen on " + Values.text(listen) + ": " + e.getMessage(), e);
        }
        threads.execute(this::acceptLoop);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket local;
            try {
                local = listener.accept();
            } catch (IOException e) {
                return;
            }
            try {
                threads.execute(() -> serve(local));
            } catch (RuntimeException e) {
                close(local);
            }
        }
    }

    private void serve(Socket local) {
        open.add(local);
        TcpTunnel tunnel = null;
        try {
            local.setTcpNoDelay(true);
            tunnel = client.openTcp(destination);
            open.add(tunnel);
            TcpTunnel t = tunnel;
            threads.execute(() -> pump(() -> local.getInputStream(), t.output(), t::shutdownOutput, local, t));
            pump(t::input, local.getOutputStream(), local::shutdownOutput, local, t);
        } catch (IOException | RuntimeException e) {
            LOG.warn("forward from {} failed: {}", local.getRemoteSocketAddress(), e.toString());
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

    private final Set<Object> finished = ConcurrentHashMap.newKeySet();

    /** Copies one direction; on end of stream half-closes the other side; the second direction to end closes. */
    private void pump(Source source, OutputStream out, HalfClose halfClose, Socket local, TcpTunnel tunnel) {
        byte[] buffer = new byte[64 * 1024];
        try {
            InputStream in = source.get();
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
            halfClose.run();
            if (!finished.add(tunnel)) {
                finish(local, tunnel);
            }
        } catch (IOException e) {
            finished.remove(tunnel);
            abort(local); // a failure on either side reaches the local peer as a reset, not a clean end
            close(tunnel);
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

    private void finish(Socket local, TcpTunnel tunnel) {
        finished.remove(tunnel);
        close(local);
        close(tunnel);
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

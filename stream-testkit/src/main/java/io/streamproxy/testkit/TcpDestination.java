package io.streamproxy.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP destination on loopback (port 0) for tests. In echo mode it sends back every byte it reads and answers end
 * of stream with its own half-close; in scripted mode it hands each accepted socket to the test. Either way it
 * counts the connections it saw, so that a test can prove the server never dialled. {@link #close()} closes every
 * socket and joins every thread it started.
 */
public final class TcpDestination implements Closeable {
    private final ServerSocket listener;
    private final boolean echo;
    private final AtomicInteger connections = new AtomicInteger();
    private final BlockingQueue<Socket> accepted = new LinkedBlockingQueue<>();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private volatile boolean closed;
    private final Object markerSeen = new Object();
    private volatile int markerPort = -1;

    private TcpDestination(InetAddress bind, boolean echo) {
        this(bind, echo, 0);
    }

    private TcpDestination(InetAddress bind, boolean echo, int receiveBuffer) {
        this.echo = echo;
        try {
            this.listener = new ServerSocket();
            if (receiveBuffer > 0) {
                listener.setReceiveBufferSize(receiveBuffer); // before bind: accepted sockets start with it
            }
            listener.bind(new InetSocketAddress(bind, 0), 200);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.acceptor = start("testkit-tcp-destination-accept", this::acceptLoop);
    }

    /**
     * Starts an echo destination on 127.0.0.1.
     *
     * @return the destination
     */
    public static TcpDestination echo() {
        return new TcpDestination(InetAddress.getLoopbackAddress(), true);
    }

    /**
     * Starts an echo destination on a given loopback address (127.0.0.1 or ::1).
     *
     * @param bind the address
     * @return the destination
     */
    public static TcpDestination echo(InetAddress bind) {
        return new TcpDestination(bind, true);
    }

    /**
     * Starts a destination that hands each accepted socket to {@link #takeConnection(Duration)}.
     *
     * @return the destination
     */
    public static TcpDestination scripted() {
        return new TcpDestination(InetAddress.getLoopbackAddress(), false);
    }

    /**
     * Starts a scripted destination whose sockets have a small receive buffer from the start, so that what is sent
     * to it waits in the sender (a slow reader).
     *
     * @param receiveBuffer the receive buffer of each accepted socket, bytes
     * @return the destination
     */
    public static TcpDestination scripted(int receiveBuffer) {
        return new TcpDestination(InetAddress.getLoopbackAddress(), false, receiveBuffer);
    }

    /** @return the bound address */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /** @return the host text to put in a header (an IP literal without brackets) */
    public String host() {
        return address().getAddress().getHostAddress();
    }

    /** @return the port */
    public int port() {
        return listener.getLocalPort();
    }

    /** @return how many connections were accepted so far */
    public int connectionCount() {
        return connections.get();
    }

    /**
     * Returns how many connections reached this destination, counting every connection a server made before this
     * call even if this destination has not accepted it yet: it connects a marker of its own and waits (bounded)
     * until the marker is accepted, which comes after every earlier connection in the listen queue. The marker is
     * not counted. Use it to prove that a server never dialled, without racing its dial.
     *
     * @param timeout bounds the wait for the marker
     * @return the connections accepted before the marker
     */
    public int settledConnectionCount(Duration timeout) {
        try (Socket marker = new Socket()) {
            marker.bind(new InetSocketAddress(listener.getInetAddress(), 0));
            markerPort = marker.getLocalPort();
            marker.connect(listener.getLocalSocketAddress(), (int) timeout.toMillis());
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (markerSeen) {
                while (markerPort >= 0) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        throw new AssertionError("the destination did not accept its marker within " + timeout);
                    }
                    markerSeen.wait(left);
                }
            }
            return connections.get();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * Waits for the next accepted socket (scripted mode).
     *
     * @param timeout how long to wait
     * @return the socket
     * @throws AssertionError if none arrives in time
     */
    public Socket takeConnection(Duration timeout) {
        try {
            Socket s = accepted.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (s == null) {
                throw new AssertionError("no connection reached the destination within " + timeout);
            }
            return s;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return;
            }
            if (s.getPort() == markerPort && s.getInetAddress().equals(listener.getInetAddress())) {
                closeQuietly(s);
                synchronized (markerSeen) {
                    markerPort = -1;
                    markerSeen.notifyAll();
                }
                continue;
            }
            connections.incrementAndGet();
            sockets.add(s);
            if (closed) {
                closeQuietly(s);
                return;
            }
            if (echo) {
                start("testkit-tcp-destination-echo", () -> echo(s));
            } else {
                accepted.add(s);
            }
        }
    }

    private void echo(Socket s) {
        byte[] buffer = new byte[64 * 1024];
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
            }
            s.shutdownOutput();
            // wait for the peer to close, so that our FIN is not turned into a reset by unread data
            while (in.read(buffer) >= 0) {
                // drain
            }
        } catch (IOException e) {
            // the peer went away: nothing to echo to
        } finally {
            sockets.remove(s);
        }
    }

    private Thread start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
        return t;
    }

    /** Closes the listener and every connection, and joins every thread (bounded). */
    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        Socket s;
        while ((s = accepted.poll()) != null) {
            closeQuietly(s);
        }
        for (Thread t : threads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing
        }
    }
}

package io.streamproxy.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A UDP destination on loopback (port 0) for tests. In echo mode it returns every datagram to its sender; in
 * scripted mode it queues them for the test, which can answer with {@link #send}. It counts datagrams and the
 * distinct source addresses (one per tunnel session), so that a test can prove nothing reached it.
 */
public final class UdpDestination implements Closeable {
    /** A received datagram and its source. */
    public record Received(SocketAddress source, byte[] data) {
    }

    private final DatagramChannel channel;
    private final boolean echo;
    private final Thread thread;
    private final AtomicLong datagrams = new AtomicLong();
    private final Set<SocketAddress> sources = ConcurrentHashMap.newKeySet();
    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    private UdpDestination(InetAddress bind, boolean echo) {
        this.echo = echo;
        try {
            channel = DatagramChannel.open();
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
            channel.bind(new InetSocketAddress(bind, 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        thread = new Thread(this::loop, "testkit-udp-destination");
        thread.setDaemon(true);
        thread.start();
    }

    /** @return an echo destination on 127.0.0.1 */
    public static UdpDestination echo() {
        return new UdpDestination(InetAddress.getLoopbackAddress(), true);
    }

    /** @return a destination that queues datagrams for {@link #take(Duration)} */
    public static UdpDestination scripted() {
        return new UdpDestination(InetAddress.getLoopbackAddress(), false);
    }

    /** @return the bound address */
    public InetSocketAddress address() {
        try {
            return (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return the host for a header */
    public String host() {
        return address().getAddress().getHostAddress();
    }

    /** @return the port */
    public int port() {
        return address().getPort();
    }

    /** @return datagrams received so far */
    public long datagramCount() {
        return datagrams.get();
    }

    /** @return distinct source addresses seen so far (one per server-side session socket) */
    public int sourceCount() {
        return sources.size();
    }

    /**
     * Waits for the next datagram (scripted mode).
     *
     * @param timeout the bound
     * @return the datagram
     * @throws AssertionError if none arrives in time
     */
    public Received take(Duration timeout) {
        try {
            Received r = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (r == null) {
                throw new AssertionError("no datagram reached the destination within " + timeout);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * Sends a datagram from the destination's socket.
     *
     * @param to   the session's source address
     * @param data the bytes
     */
    public void send(SocketAddress to, byte[] data) {
        try {
            channel.send(ByteBuffer.wrap(data), to);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void loop() {
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (!closed) {
            buf.clear();
            SocketAddress from;
            try {
                from = channel.receive(buf);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                continue;
            }
            datagrams.incrementAndGet();
            sources.add(from);
            buf.flip();
            if (echo) {
                try {
                    channel.send(buf, from);
                } catch (IOException e) {
                    // the session went away
                }
            } else {
                byte[] copy = new byte[buf.remaining()];
                buf.get(copy);
                received.add(new Received(from, copy));
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.streamproxy.spi;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local UDP port forwarding: every local source address gets its own tunnel session (its own DTLS session and its
 * own destination socket at the server); replies go back to that source. A new flow's tunnel opens on a worker thread
 * (the receive loop never waits for a handshake; up to {@link #PENDING} datagrams wait for it). A flow is closed when
 * neither side sent anything for the idle timeout. While set-ups fail, new flows back off ({@link UdpFlowBackoff}).
 */
final class DatagramPortForward implements PortForward {
    private static final Logger LOG = LoggerFactory.getLogger(DatagramPortForward.class);

    private final UdpClientTransport transport;
    private final Destination destination;
    private final DatagramChannel channel;
    private final Duration idle;
    private final InetSocketAddress bound;
    /** Datagrams of a new flow that may wait while its tunnel opens. */
    static final int PENDING = 64;

    private final Map<SocketAddress, Flow> flows = new ConcurrentHashMap<>();
    private final ExecutorService threads = new ThreadPoolExecutor(0, 4096, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "stream-proxy-forward-udp");
                t.setDaemon(true);
                return t;
            });
    private volatile boolean closed;
    private final UdpFlowBackoff backoff;

    DatagramPortForward(UdpClientTransport transport, Destination destination, InetSocketAddress listen,
                        Duration idle) throws IOException {
        this.transport = transport;
        this.destination = destination;
        this.idle = idle;
        this.channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
            channel.bind(listen);
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot listen on UDP " + listen + ": " + e.getMessage(), e);
        }
        this.bound = (InetSocketAddress) channel.getLocalAddress();
        this.backoff = new UdpFlowBackoff(LOG, "UDP forward " + bound + " -> " + destination);
        threads.execute(this::receiveLoop);
    }

    @Override
    public InetSocketAddress address() {
        return bound;
    }

    @Override
    public Destination destination() {
        return destination;
    }

    private void receiveLoop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(65536);
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
            buf.flip();
            Flow f = flows.get(from);
            if (f == null) {
                if (!backoff.mayOpen(System.nanoTime())) {
                    continue; // set-ups fail: this source waits, as every new one does
                }
                f = new Flow(from);
                flows.put(from, f);
                Flow flow = f;
                try {
                    threads.execute(flow::open); // the DTLS handshake runs off this loop: other flows go on
                } catch (RuntimeException e) {
                    flows.remove(from, flow);
                    LOG.warn("UDP forward from {}: no thread left to open its tunnel", from);
                    continue;
                }
            }
            f.send(buf);
        }
    }

    /**
     * One local source: its tunnel once open (datagrams that come while it opens wait, at most {@link #PENDING}),
     * and its last activity either way, so that a flow is idle only when neither side sent for the idle timeout.
     */
    private final class Flow {
        final SocketAddress source;
        private final java.util.ArrayDeque<ByteBuffer> pending = new java.util.ArrayDeque<>();
        private DatagramTunnel tunnel;
        private boolean ended;
        private long openedAt;
        private boolean replied;
        volatile long lastActivity = System.nanoTime();

        Flow(SocketAddress source) {
            this.source = source;
        }

        /** On a worker thread: opens the tunnel, sends what waited, then relays the replies. */
        void open() {
            DatagramTunnel t;
            try {
                t = transport.open(destination);
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    backoff.failed(source, String.valueOf(e.getMessage()), System.nanoTime());
                }
                end();
                return;
            }
            openedAt = System.nanoTime();
            synchronized (this) {
                if (ended) {
                    closeQuietly(t);
                    return;
                }
                tunnel = t;
                ByteBuffer b;
                while ((b = pending.poll()) != null) {
                    if (!sendNow(b)) {
                        return;
                    }
                }
            }
            replies(t);
        }

        /** From the receive loop. */
        synchronized void send(ByteBuffer datagram) {
            if (ended) {
                return;
            }
            lastActivity = System.nanoTime();
            if (tunnel == null) {
                if (pending.size() < PENDING) {
                    ByteBuffer copy = ByteBuffer.allocate(datagram.remaining());
                    copy.put(datagram).flip();
                    pending.add(copy);
                } // else dropped, as a full socket buffer would
                return;
            }
            sendNow(datagram);
        }

        private boolean sendNow(ByteBuffer datagram) {
            try {
                tunnel.send(datagram);
                return true;
            } catch (IOException | RuntimeException e) {
                LOG.warn("UDP forward from {} failed: {}", source, e.getMessage());
                endLocked();
                return false;
            }
        }

        private void replies(DatagramTunnel t) {
            ByteBuffer buf = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
            String cause = null;
            try {
                while (!closed) {
                    buf.clear();
                    long quietFor = System.nanoTime() - lastActivity;
                    long left = idle.toNanos() - quietFor;
                    if (left <= 0) {
                        break; // idle both ways
                    }
                    int n;
                    try {
                        n = t.receive(buf, Duration.ofNanos(left));
                    } catch (SocketTimeoutException e) {
                        continue; // the loop checks whether the local side kept the flow busy meanwhile
                    }
                    if (n < 0) {
                        cause = UdpFlowBackoff.SERVER_ENDED;
                        break;
                    }
                    lastActivity = System.nanoTime();
                    if (!replied) {
                        replied = true;
                        backoff.succeeded();
                    }
                    buf.flip();
                    channel.send(buf, source);
                }
            } catch (IOException e) {
                LOG.debug("UDP flow from {} ended: {}", source, e.getMessage());
                cause = String.valueOf(e.getMessage());
            }
            if (!closed) {
                backoff.ended(source, openedAt, replied, cause, System.nanoTime());
            }
            end();
        }

        synchronized void end() {
            endLocked();
        }

        private void endLocked() {
            if (ended) {
                return;
            }
            ended = true;
            pending.clear();
            flows.remove(source, this);
            if (tunnel != null) {
                closeQuietly(tunnel);
            }
        }
    }

    private static void closeQuietly(DatagramTunnel t) {
        try {
            t.close();
        } catch (IOException e) {
            // closing
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
        for (Flow f : flows.values()) {
            f.end();
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

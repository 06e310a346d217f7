package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.spi.UdpFlowBackoff;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local UDP port forwarding on the netty UDP client's event loop: the local socket and every flow's DTLS channel share
 * the one loop, so a local datagram is encrypted and sent, and a reply decrypted and sent back to its source, without
 * a thread hand-off or a copy beyond the DTLS engine's. Every local source gets its own tunnel (its own DTLS session
 * and destination socket at the server). A new flow's handshake runs on an opener thread, never on the loop; up to
 * {@link #PENDING} datagrams of the flow wait for it. A flow ends when neither side sent for the idle timeout. While
 * set-ups fail, new flows back off ({@link UdpFlowBackoff}).
 */
final class NettyUdpPortForward implements PortForward {
    private static final Logger LOG = LoggerFactory.getLogger(NettyUdpPortForward.class);
    /** Datagrams of a new flow that may wait while its tunnel opens; more are dropped, as a full socket would. */
    static final int PENDING = 64;
    /** Flows at once, at most; datagrams from more sources are dropped until some end. */
    static final int MAX_FLOWS = 4096;

    private final NettyUdpClient client;
    private final Destination destination;
    private final long idleNanos;
    private final Channel local;
    private final EventLoop loop;
    private final InetSocketAddress bound;
    private final Runnable onClose;
    /** Only touched on the loop. */
    private final Map<InetSocketAddress, Flow> flows = new HashMap<>();
    private final ExecutorService openers = new ThreadPoolExecutor(0, MAX_FLOWS, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), new NamedThreads("stream-proxy-forward-udp-open"));
    private final ScheduledFuture<?> reaper;
    private final UdpFlowBackoff backoff;
    private volatile boolean closed;

    private NettyUdpPortForward(NettyUdpClient client, Destination destination, Duration idle, Channel local,
                                Runnable onClose) {
        this.client = client;
        this.destination = destination;
        this.idleNanos = idle.toNanos();
        this.local = local;
        this.loop = local.eventLoop();
        this.bound = (InetSocketAddress) local.localAddress();
        this.onClose = onClose;
        this.backoff = new UdpFlowBackoff(LOG, "UDP forward " + bound + " -> " + destination);
        long tick = Math.max(50, Math.min(1000, idle.toMillis() / 4));
        this.reaper = loop.scheduleAtFixedRate(this::endIdleFlows, tick, tick, TimeUnit.MILLISECONDS);
    }

    static NettyUdpPortForward start(NettyUdpClient client, NettyRuntime runtime, EventLoop loop,
                                     Destination destination, InetSocketAddress listen, Duration idle,
                                     Runnable onClose) throws IOException {
        NettyUdpPortForward[] holder = new NettyUdpPortForward[1];
        Channel ch;
        try {
            ch = runtime.plainDatagramBootstrap(loop,
                            new SimpleChannelInboundHandler<DatagramPacket>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                            holder[0].fromLocal(p.sender(), p.content());
                        }
                    })
                    .bind(listen).sync().channel();
        } catch (Exception e) {
            throw new IOException("cannot listen on UDP " + listen + ": " + e.getMessage(), e);
        }
        NettyUdpPortForward f = new NettyUdpPortForward(client, destination, idle, ch, onClose);
        holder[0] = f;
        return f;
    }

    @Override
    public InetSocketAddress address() {
        return bound;
    }

    @Override
    public Destination destination() {
        return destination;
    }

    /** On the loop: a datagram from a local source. */
    private void fromLocal(InetSocketAddress source, ByteBuf content) {
        Flow f = flows.get(source);
        if (f == null) {
            if (closed || flows.size() >= MAX_FLOWS || !backoff.mayOpen(System.nanoTime())) {
                return; // while set-ups fail, new sources wait (UdpFlowBackoff)
            }
            f = new Flow(source);
            flows.put(source, f);
            Flow flow = f;
            try {
                openers.execute(flow::open); // the DTLS handshake waits on an opener thread, never on the loop
            } catch (RejectedExecutionException e) {
                flows.remove(source, flow);
                LOG.warn("UDP forward from {}: no thread left to open its tunnel", source);
                return;
            }
        }
        f.fromLocal(content);
    }

    private void endIdleFlows() {
        long now = System.nanoTime();
        for (Flow f : flows.values().toArray(new Flow[0])) {
            if (now - f.lastActivity >= idleNanos) {
                f.ended(null, now);
            }
        }
    }

    /** One local source and its tunnel; every field is touched on the loop only, but the opener's hand-over. */
    private final class Flow implements NettyDatagramTunnel.Sink {
        final InetSocketAddress source;
        private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
        private NettyDatagramTunnel tunnel;
        private boolean ended;
        private long openedAt;
        private boolean replied;
        long lastActivity = System.nanoTime();

        Flow(InetSocketAddress source) {
            this.source = source;
        }

        /** On an opener thread. */
        void open() {
            NettyDatagramTunnel t;
            try {
                t = (NettyDatagramTunnel) client.open(destination);
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    backoff.failed(source, String.valueOf(e.getMessage()), System.nanoTime());
                }
                loop.execute(this::end);
                return;
            }
            try {
                loop.execute(() -> opened(t));
            } catch (RejectedExecutionException e) {
                t.closeAsync();
            }
        }

        private void opened(NettyDatagramTunnel t) {
            if (ended || closed) {
                t.closeAsync();
                return;
            }
            tunnel = t;
            openedAt = System.nanoTime();
            t.deliverTo(this); // replies (and any that came already) go straight to the source from now on
            ByteBuf b;
            while ((b = pending.poll()) != null) {
                try {
                    if (!sendNow(b.nioBuffer())) {
                        return;
                    }
                } finally {
                    b.release();
                }
            }
        }

        void fromLocal(ByteBuf content) {
            if (ended) {
                return;
            }
            lastActivity = System.nanoTime();
            if (tunnel == null) {
                if (pending.size() < PENDING) {
                    pending.add(content.retainedDuplicate());
                } // else dropped, as a full socket buffer would
                return;
            }
            sendNow(content.nioBuffer());
        }

        private boolean sendNow(ByteBuffer datagram) {
            try {
                tunnel.send(datagram); // on the loop: encrypted and written now, no hand-off
                return true;
            } catch (IOException | RuntimeException e) {
                LOG.warn("UDP forward from {} failed: {}", source, e.getMessage());
                end();
                return false;
            }
        }

        @Override
        public void datagram(ByteBuffer plaintext) {
            if (ended) {
                return;
            }
            lastActivity = System.nanoTime();
            if (!replied) {
                replied = true;
                backoff.succeeded();
            }
            ByteBuf out = local.alloc().directBuffer(plaintext.remaining()).writeBytes(plaintext);
            local.writeAndFlush(new DatagramPacket(out, source), local.voidPromise());
        }

        @Override
        public void ended(IOException cause) {
            if (cause != null) {
                LOG.debug("UDP flow from {} ended: {}", source, cause.getMessage());
            }
            ended(cause == null ? UdpFlowBackoff.SERVER_ENDED : String.valueOf(cause.getMessage()),
                    System.nanoTime());
        }

        /** On the loop: the tunnel ended (a cause), or the flow idled out (null). */
        void ended(String cause, long now) {
            if (!ended && !closed && tunnel != null) {
                backoff.ended(source, openedAt, replied, cause, now);
            }
            end();
        }

        void end() {
            if (ended) {
                return;
            }
            ended = true;
            flows.remove(source, this);
            ByteBuf b;
            while ((b = pending.poll()) != null) {
                b.release();
            }
            if (tunnel != null) {
                tunnel.closeAsync();
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            loop.submit(() -> {
                reaper.cancel(false);
                for (Flow f : flows.values().toArray(new Flow[0])) {
                    f.end();
                }
                local.close();
            }).awaitUninterruptibly(10, TimeUnit.SECONDS);
        } catch (RejectedExecutionException e) {
            local.close();
        }
        local.closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        openers.shutdownNow();
        try {
            openers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        onClose.run();
    }
}

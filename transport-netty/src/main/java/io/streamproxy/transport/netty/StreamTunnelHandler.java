package io.streamproxy.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.streamproxy.TlsRoute;
import io.streamproxy.internal.HandshakeFailures;
import io.streamproxy.internal.Resolver;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.TunnelSession.Step;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.TimeUnit;

/**
 * The server side of one stream tunnel on a Netty channel behind an {@code SslHandler}, as a shell around the
 * session core's {@link TunnelSession}: it feeds the core the handshake's outcome, exactly 275 header bytes and each
 * resolve and dial outcome, and carries out the core's steps on the channel's event loop (resolve on the shared
 * resolver, dial each checked address in turn, forward bytes that came with the header, hand both channels to the
 * relay); a timer on the loop enforces the core's deadlines. A connection that negotiated a route's ALPN id goes to
 * that route instead. Create it with {@link StreamTunnelService#newHandler()}.
 */
public final class StreamTunnelHandler extends ChannelInboundHandlerAdapter {
    private final StreamTunnelService service;
    private TunnelSession tunnel;
    private ByteBuf header;
    /** What the client sent after its header, before the relay was in place: at most about 64 KiB. */
    private final Queue<ByteBuf> pending = new ArrayDeque<>();
    private static final int MAX_PENDING_BYTES = 64 * 1024;
    private int pendingBytes;
    private ScheduledFuture<?> timer;
    /** The core's bounds on the relaying tunnel; set and read on the client's loop. */
    private volatile ScheduledFuture<?> relayTimer;
    private boolean handshaken;
    private boolean done;
    /** The wall clock when this handler met the connection before its handshake, else Long.MIN_VALUE. */
    private long handshakeStartMillis = Long.MIN_VALUE;

    StreamTunnelHandler(StreamTunnelService service, TunnelSession admitted) {
        this.service = service;
        this.tunnel = admitted;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (tunnel == null) {
            tunnel = service.core.tryAccept(ctx.channel().remoteAddress(), System.nanoTime());
            if (tunnel == null) {
                done = true;
                ctx.close();
                return;
            }
        }
        service.track(ctx.channel());
        header = ctx.alloc().buffer(StreamProtocol.HEADER_SIZE);
        arm(ctx);
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl != null && ssl.handshakeFuture().isDone()) {
            onHandshake(ctx, ssl.handshakeFuture().isSuccess() ? null : ssl.handshakeFuture().cause());
        } else {
            handshakeStartMillis = System.currentTimeMillis();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (header != null) {
            header.release();
            header = null;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        releasePending();
    }

    /** Schedules the core's next deadline on the loop; a step other than WAIT then closes the connection. */
    private void arm(ChannelHandlerContext ctx) {
        long at = tunnel.nextDeadline();
        if (at == Long.MAX_VALUE) {
            return;
        }
        timer = ctx.executor().schedule(() -> {
            Step s = tunnel.tick(System.nanoTime());
            if (s == Step.WAIT) {
                arm(ctx);
            } else {
                act(ctx, s);
            }
        }, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent) {
            SslHandshakeCompletionEvent e = (SslHandshakeCompletionEvent) evt;
            onHandshake(ctx, e.isSuccess() ? null : e.cause());
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            if (tunnel != null && !done) {
                act(ctx, tunnel.clientEnded(header == null ? 0 : header.readableBytes(), System.nanoTime()));
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void onHandshake(ChannelHandlerContext ctx, Throwable failure) {
        if (handshaken || done || tunnel == null) {
            return;
        }
        if (failure != null) {
            act(ctx, tunnel.handshakeFailed("TLS: " + HandshakeFailures.serverReason(failure), System.nanoTime()));
            return;
        }
        handshaken = true;
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        String alpn = ssl == null ? null : TlsContexts.applicationProtocol(ssl);
        if (alpn == null && AlpnOffer.offered(ctx.channel())) {
            act(ctx, tunnel.handshakeFailed("client offered only ALPN ids this server does not serve",
                    System.nanoTime()));
            return;
        }
        TlsRoute route = service.options.routeFor(alpn);
        java.security.cert.Certificate[] chain = ssl == null ? null
                : TunnelSession.peerChain(ssl.engine().getSession());
        boolean resumed = ssl != null && TlsContexts.resumed(ssl.engine(), handshakeStartMillis);
        if (route != null && !StreamProtocol.ALPN.equals(alpn)) {
            TunnelSession.Step routed = tunnel.routed(chain, resumed, System.nanoTime());
            if (routed != TunnelSession.Step.END) {
                act(ctx, routed);
                return;
            }
            done = true;
            ctx.pipeline().replace(this, "route", new NettyRouteHandler(route, alpn));
            return;
        }
        act(ctx, tunnel.handshakeDone(alpn, chain, resumed, System.nanoTime()));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done || header == null || tunnel.destination() != null) {
            if (!done && header != null) {
                hold(ctx, (ByteBuf) msg); // resolving or dialling: keep for the destination
            } else {
                ReferenceCountUtil.release(msg); // refused: drop
            }
            return;
        }
        ByteBuf in = (ByteBuf) msg;
        int take = Math.min(in.readableBytes(), StreamProtocol.HEADER_SIZE - header.readableBytes());
        header.writeBytes(in, take);
        if (in.isReadable()) {
            hold(ctx, in);
        } else {
            in.release();
        }
        if (header.readableBytes() == StreamProtocol.HEADER_SIZE) {
            act(ctx, tunnel.header(header.nioBuffer(), System.nanoTime()));
        }
    }

    /**
     * Keeps bytes that came after the header for the destination. The client's channel keeps reading while the
     * destination is resolved and dialled (pausing and resuming it would cost two epoll changes per tunnel) until
     * {@link #MAX_PENDING_BYTES} are held; past that it stops reading, and the relay resumes it.
     */
    private void hold(ChannelHandlerContext ctx, ByteBuf b) {
        pending.add(b);
        pendingBytes += b.readableBytes();
        if (pendingBytes > MAX_PENDING_BYTES) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    /** Carries out a step of the core. */
    private void act(ChannelHandlerContext ctx, Step step) {
        if (done) {
            return;
        }
        switch (step) {
            case WAIT:
                return;
            case RESOLVE:
                rearm(ctx);
                service.resolver.resolve(tunnel.destination().host(), tunnel.dialDeadline(), ctx.executor(),
                        Resolver.Callback.of(
                                addresses -> act(ctx, tunnel.resolved(addresses, System.nanoTime())),
                                why -> act(ctx, tunnel.resolveFailed(why, System.nanoTime()))));
                return;
            case DIAL:
                rearm(ctx);
                dial(ctx);
                return;
            case RELAY:
                return; // started by dial()
            default:
                done = true;
                if (timer != null) {
                    timer.cancel(false);
                }
                releasePending();
                if (step == Step.RESET) {
                    TcpRelay.reset(ctx.channel()); // no close_notify, no FIN: a prober tells it from a quiet close
                } else {
                    ctx.close();
                }
        }
    }

    private void rearm(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        arm(ctx);
    }

    private void dial(ChannelHandlerContext ctx) {
        if (!ctx.channel().isActive()) {
            act(ctx, tunnel.close("client went away"));
            return;
        }
        Class<? extends SocketChannel> type = ctx.channel() instanceof EpollSocketChannel
                ? EpollSocketChannel.class : NioSocketChannel.class;
        Bootstrap b = new Bootstrap().group(ctx.channel().eventLoop()).channel(type)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, tunnel.dialMillisLeft(System.nanoTime()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        service.track(ch);
                    }
                });
        ChannelFuture connect = b.connect(tunnel.dialAddress());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                Throwable c = f.cause();
                act(ctx, tunnel.dialFailed(c == null ? "failed" : SocketFailures.words(c), System.nanoTime()));
                return;
            }
            Channel upstream = connect.channel();
            if (!ctx.channel().isActive()) {
                upstream.close();
                act(ctx, tunnel.close("client went away"));
                return;
            }
            Step step = tunnel.dialSucceeded(System.nanoTime());
            if (step != Step.RELAY) {
                upstream.close();
                act(ctx, step);
                return;
            }
            startRelay(ctx, upstream);
        });
    }

    private void startRelay(ChannelHandlerContext ctx, Channel upstream) {
        done = true;
        if (timer != null) {
            timer.cancel(false);
        }
        byte[] proxyHeader = tunnel.proxyHeader(ctx.channel().localAddress());
        if (proxyHeader != null) {
            upstream.write(io.netty.buffer.Unpooled.wrappedBuffer(proxyHeader)); // before any payload, not counted
        }
        TcpRelay relay = new TcpRelay(TcpRelay.of(tunnel), ctx.channel(), upstream);
        // bytes that came with (or right after) the header go first
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            relay.fromClient(b);
        }
        pendingBytes = 0;
        upstream.flush();
        header.release();
        header = null;
        ctx.pipeline().replace(this, TcpRelay.CLIENT_SIDE, relay.clientSide());
        upstream.pipeline().addLast(TcpRelay.DESTINATION_SIDE, relay.destinationSide());
        if (!tunnel.options().tcpIdleTimeout().isZero()) {
            ActivityTouch touch = new ActivityTouch(tunnel);
            ctx.pipeline().addBefore(TcpRelay.CLIENT_SIDE, "touch", touch);
            upstream.pipeline().addBefore(TcpRelay.DESTINATION_SIDE, "touch", touch);
        }
        relay.start();
        if (tunnel.clientEndedEarly()) {
            relay.clientInputEnded();
        }
        if (tunnel.nextDeadline() != Long.MAX_VALUE) {
            Channel client = ctx.channel();
            client.closeFuture().addListener(f -> {
                ScheduledFuture<?> t = relayTimer;
                if (t != null) {
                    t.cancel(false);
                }
            });
            armRelay(client, upstream);
        }
    }

    /**
     * Enforces the core's bounds on a relaying tunnel (idle, half-close, lifetime) on the client's loop: when one
     * is reached both connections close, and the relay's end reports the session with the core's reason.
     */
    private void armRelay(Channel client, Channel upstream) {
        long at = tunnel.nextDeadline();
        if (at == Long.MAX_VALUE || !client.isActive()) {
            return;
        }
        relayTimer = client.eventLoop().schedule(() -> {
            if (tunnel.tick(System.nanoTime()) == Step.WAIT) {
                armRelay(client, upstream);
            } else {
                upstream.close();
                client.close();
            }
        }, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Tells the core each read of a relaying tunnel, for its idle bound (only added when that bound is on). */
    @io.netty.channel.ChannelHandler.Sharable
    private static final class ActivityTouch extends io.netty.channel.ChannelInboundHandlerAdapter {
        private final TunnelSession tunnel;

        ActivityTouch(TunnelSession tunnel) {
            this.tunnel = tunnel;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            tunnel.touch(System.nanoTime());
            ctx.fireChannelRead(msg);
        }
    }

    private void releasePending() {
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            b.release();
        }
        pendingBytes = 0;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tunnel != null && !done) {
            act(ctx, tunnel.failed(String.valueOf(cause.getMessage()), System.nanoTime()));
        } else {
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (tunnel != null && !done) {
            Step s = tunnel.clientEnded(header == null ? 0 : header.readableBytes(), System.nanoTime());
            act(ctx, s == Step.WAIT ? tunnel.close("client went away") : s);
        }
        ctx.fireChannelInactive();
    }
}

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
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.streamproxy.Destination;
import io.streamproxy.RefusalReason;
import io.streamproxy.protocol.SessionDecision;
import io.streamproxy.protocol.SessionRules;
import io.streamproxy.protocol.StreamProtocol;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one stream tunnel on a Netty channel behind an {@code SslHandler}: waits for the handshake (or
 * finds it done), requires the stream ALPN id, takes exactly 275 header bytes within the header timeout, applies
 * {@link SessionRules}, dials the destination on the same event loop within the dial timeout, forwards any bytes
 * that came with the header, and hands both channels to the relay; then removes itself. Create it with
 * {@link StreamTunnelService#newHandler()}.
 */
public final class StreamTunnelHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(StreamTunnelHandler.class);

    private final StreamTunnelService service;
    private ByteBuf header;
    private final Queue<Object> pending = new ArrayDeque<>();
    private ScheduledFuture<?> deadline;
    private boolean handshaken;
    private boolean decided;
    private boolean clientEnded;
    private SocketAddress client;

    StreamTunnelHandler(StreamTunnelService service) {
        this.service = service;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        client = ctx.channel().remoteAddress();
        service.track(ctx.channel());
        header = ctx.alloc().buffer(StreamProtocol.HEADER_SIZE);
        deadline = ctx.executor().schedule(() -> {
            if (!decided) {
                decided = true;
                service.refused(client, RefusalReason.HEADER_TIMEOUT, (handshaken ? "no header" : "no TLS handshake")
                        + " within " + service.options.headerTimeout());
                ctx.close();
            }
        }, service.options.headerTimeout().toNanos(), TimeUnit.NANOSECONDS);
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl != null && ssl.handshakeFuture().isDone()) {
            onHandshake(ctx, ssl.handshakeFuture().isSuccess() ? null : ssl.handshakeFuture().cause());
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (header != null) {
            header.release();
            header = null;
        }
        if (deadline != null) {
            deadline.cancel(false);
        }
        Object o;
        while ((o = pending.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent) {
            SslHandshakeCompletionEvent e = (SslHandshakeCompletionEvent) evt;
            onHandshake(ctx, e.isSuccess() ? null : e.cause());
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent) {
            if (decided && header != null) {
                clientEnded = true; // the client half-closed while we dial: pass it on once the relay runs
                return;
            }
            if (!decided) {
                decided = true;
                service.refused(client, handshaken ? RefusalReason.INVALID_HEADER : RefusalReason.HANDSHAKE_FAILED,
                        "client closed after " + (header == null ? 0 : header.readableBytes()) + " header bytes");
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void onHandshake(ChannelHandlerContext ctx, Throwable failure) {
        if (handshaken || decided) {
            return;
        }
        if (failure != null) {
            decided = true;
            if (failure instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
                service.refused(client, RefusalReason.HEADER_TIMEOUT,
                        "no TLS handshake within " + service.options.headerTimeout());
            } else {
                service.refused(client, RefusalReason.HANDSHAKE_FAILED, "TLS: " + failure.getMessage());
            }
            ctx.close();
            return;
        }
        handshaken = true;
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        String alpn = ssl == null ? null : ssl.applicationProtocol();
        if (!StreamProtocol.ALPN.equals(alpn)) {
            decided = true;
            service.refused(client, RefusalReason.HANDSHAKE_FAILED, "client did not negotiate ALPN "
                    + StreamProtocol.ALPN + " (got '" + (alpn == null ? "" : alpn) + "')");
            ctx.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (decided) {
            if (header == null) {
                ReferenceCountUtil.release(msg); // refused: drop
            } else {
                pending.add(msg); // dialling: keep for the destination
            }
            return;
        }
        ByteBuf in = (ByteBuf) msg;
        int take = Math.min(in.readableBytes(), StreamProtocol.HEADER_SIZE - header.readableBytes());
        header.writeBytes(in, take);
        if (in.isReadable()) {
            pending.add(in);
        } else {
            in.release();
        }
        if (header.readableBytes() == StreamProtocol.HEADER_SIZE) {
            decided = true;
            deadline.cancel(false);
            ctx.channel().config().setAutoRead(false);
            decide(ctx);
        }
    }

    private void decide(ChannelHandlerContext ctx) {
        SessionDecision decision = SessionRules.decide(header.nioBuffer(), service.options.policy());
        switch (decision.action()) {
            case CLOSE_QUIETLY:
                service.events.probe(io.streamproxy.Protocol.TCP, client);
                dropHeader();
                ctx.close();
                return;
            case REFUSE:
                service.refused(client, decision.reason(), decision.detail());
                dropHeader();
                ctx.close();
                return;
            default:
                if (service.activeSessions.incrementAndGet() > service.options.maxSessions()) {
                    service.activeSessions.decrementAndGet();
                    service.refused(client, RefusalReason.CAPACITY,
                            "at the limit of " + service.options.maxSessions() + " sessions");
                    dropHeader();
                    ctx.close();
                    return;
                }
                resolveAndDial(ctx, decision.destination());
        }
    }

    private void dropHeader() {
        header.release();
        header = null;
        Object o;
        while ((o = pending.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    private void resolveAndDial(ChannelHandlerContext ctx, Destination d) {
        long deadlineNanos = System.nanoTime() + service.options.dialTimeout().toNanos();
        if (TcpAddresses.isIpLiteral(d.host())) {
            dial(ctx, d, new InetSocketAddress(TcpAddresses.literal(d.host()), d.port()), deadlineNanos);
            return;
        }
        try {
            service.resolver.execute(() -> {
                InetSocketAddress address = new InetSocketAddress(d.host(), d.port());
                ctx.executor().execute(() -> {
                    if (address.isUnresolved()) {
                        failDial(ctx, d, "cannot resolve " + d.host());
                    } else if (System.nanoTime() > deadlineNanos) {
                        failDial(ctx, d, "resolving took longer than " + service.options.dialTimeout());
                    } else {
                        dial(ctx, d, address, deadlineNanos);
                    }
                });
            });
        } catch (RejectedExecutionException e) {
            failDial(ctx, d, "resolver busy");
        }
    }

    private void failDial(ChannelHandlerContext ctx, Destination d, String why) {
        service.activeSessions.decrementAndGet();
        if (!service.isClosed()) {
            service.refused(client, RefusalReason.DIAL_FAILED, "dialling " + d + ": " + why);
        }
        dropHeader();
        ctx.close();
    }

    private void dial(ChannelHandlerContext ctx, Destination d, InetSocketAddress address, long deadlineNanos) {
        if (!ctx.channel().isActive()) {
            failDial(ctx, d, "client went away");
            return;
        }
        long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
        Class<? extends SocketChannel> type = ctx.channel() instanceof EpollSocketChannel
                ? EpollSocketChannel.class : NioSocketChannel.class;
        Bootstrap b = new Bootstrap().group(ctx.channel().eventLoop()).channel(type)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, left))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        service.track(ch);
                    }
                });
        ChannelFuture connect = b.connect(address);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                Throwable c = f.cause();
                failDial(ctx, d, c == null ? "failed" : c.getMessage());
                return;
            }
            Channel upstream = connect.channel();
            if (!ctx.channel().isActive()) {
                upstream.close();
                failDial(ctx, d, "client went away");
                return;
            }
            startRelay(ctx, upstream, d);
        });
    }

    private void startRelay(ChannelHandlerContext ctx, Channel upstream, Destination d) {
        TcpRelay relay = new TcpRelay(service, ctx.channel(), upstream, d, client);
        // bytes that came with (or right after) the header go first
        Object o;
        while ((o = pending.poll()) != null) {
            relay.fromClient((ByteBuf) o);
        }
        upstream.flush();
        header.release();
        header = null;
        ctx.pipeline().replace(this, TcpRelay.CLIENT_SIDE, relay.clientSide());
        upstream.pipeline().addLast(TcpRelay.DESTINATION_SIDE, relay.destinationSide());
        relay.start();
        if (clientEnded) {
            relay.clientInputEnded();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!decided) {
            decided = true;
            service.refused(client, handshaken ? RefusalReason.INVALID_HEADER : RefusalReason.HANDSHAKE_FAILED,
                    String.valueOf(cause.getMessage()));
        } else {
            LOG.debug("TCP connection from {} failed before relaying: {}", client, cause.toString());
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!decided) {
            decided = true;
            service.refused(client, handshaken ? RefusalReason.INVALID_HEADER : RefusalReason.HANDSHAKE_FAILED,
                    "client closed the connection");
        }
        ctx.fireChannelInactive();
    }

    /** IP literal parsing without DNS. */
    static final class TcpAddresses {
        private TcpAddresses() {
        }

        static boolean isIpLiteral(String host) {
            return NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
        }

        static InetAddress literal(String host) {
            return NetUtil.createInetAddressFromIpAddressString(host);
        }
    }
}

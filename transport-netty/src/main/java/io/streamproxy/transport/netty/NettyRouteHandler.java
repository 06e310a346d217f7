package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.streamproxy.TlsRoute;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * A route connection on a Netty channel: received bytes go to the route's {@link TlsRoute.Connection} on the event
 * loop; writes are copied and flushed in order; a connection idle for {@link TlsRoute#IDLE_TIMEOUT_SECONDS} is
 * closed.
 */
final class NettyRouteHandler extends ChannelInboundHandlerAdapter implements TlsRoute.Channel {
    private final TlsRoute route;
    private final String alpn;
    private Channel channel;
    private TlsRoute.Connection connection;
    private boolean ended;

    NettyRouteHandler(TlsRoute route, String alpn) {
        this.route = route;
        this.alpn = alpn == null ? "" : alpn;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        ctx.pipeline().addBefore(ctx.name(), "route-idle",
                new IdleStateHandler(TlsRoute.IDLE_TIMEOUT_SECONDS, 0, 0, TimeUnit.SECONDS));
        connection = route.open(this);
        ctx.channel().config().setAutoRead(true);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf b = (ByteBuf) msg;
        try {
            if (!ended) {
                connection.received(b.nioBuffer());
            }
        } finally {
            b.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        if (evt instanceof SslCloseCompletionEvent || evt instanceof ChannelInputShutdownEvent) {
            // the client ended (close_notify or FIN): as on the jdk transport, what was written goes out, then the
            // connection closes, so a client that waits for the server's close_notify is not left waiting
            close();
            end();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        end();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    private void end() {
        if (!ended) {
            ended = true;
            connection.closed();
        }
    }

    @Override
    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    @Override
    public String applicationProtocol() {
        return alpn;
    }

    @Override
    public List<Certificate> peerCertificates() {
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        try {
            return ssl == null ? List.of() : Arrays.asList(ssl.engine().getSession().getPeerCertificates());
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    @Override
    public void write(ByteBuffer data) {
        channel.writeAndFlush(Unpooled.copiedBuffer(data), channel.voidPromise());
    }

    @Override
    public void close() {
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
}

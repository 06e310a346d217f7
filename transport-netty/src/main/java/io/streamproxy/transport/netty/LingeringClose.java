package io.streamproxy.transport.netty;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sits next to the socket of a client connection and turns a close into a lingering one: half-close, drop what
 * the client still sends until it closes or a second passes, then close. Without it, a close with unread client
 * bytes (a header pipelined behind a handshake the server refused) makes the kernel send a reset that can
 * overtake our TLS alert or close_notify, and the client then sees "connection reset" instead of the reason.
 */
final class LingeringClose extends ChannelDuplexHandler {
    static final String NAME = "stream-linger";
    private static final long LINGER_MILLIS = 1000;

    private final java.util.concurrent.atomic.AtomicInteger lingeringNow;
    private final int maxLingering;
    private boolean lingering;
    private ChannelPromise closePromise;
    private ScheduledFuture<?> timer;

    /**
     * @param lingeringNow the server's count of connections lingering now (they are outside the handshake limit)
     * @param maxLingering past this many, a connection closes at once
     */
    LingeringClose(java.util.concurrent.atomic.AtomicInteger lingeringNow, int maxLingering) {
        this.lingeringNow = lingeringNow;
        this.maxLingering = maxLingering;
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (lingering) {
            closePromise.addListener(f -> {
                if (f.isSuccess()) {
                    promise.trySuccess();
                } else {
                    promise.tryFailure(f.cause());
                }
            });
            return;
        }
        if (!(ctx.channel() instanceof DuplexChannel) || !ctx.channel().isActive()
                || ((DuplexChannel) ctx.channel()).isInputShutdown()) {
            ctx.close(promise);
            return;
        }
        if (lingeringNow.incrementAndGet() > maxLingering) {
            lingeringNow.decrementAndGet();
            ctx.close(promise); // bounded: past the limit a refused connection closes at once
            return;
        }
        ctx.channel().closeFuture().addListener(f -> lingeringNow.decrementAndGet());
        lingering = true;
        closePromise = promise;
        ctx.flush();
        ((DuplexChannel) ctx.channel()).shutdownOutput().addListener(f -> {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        });
        timer = ctx.executor().schedule(() -> finish(ctx), LINGER_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void finish(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.close(closePromise);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (lingering) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (lingering && evt instanceof ChannelInputShutdownEvent) {
            finish(ctx);
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (lingering) {
            finish(ctx);
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}

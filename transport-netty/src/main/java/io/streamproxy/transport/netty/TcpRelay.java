package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.streamproxy.protocol.TunnelSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays one TCP session between two channels on their shared event loop: the client's side and the destination's
 * side, either of which may carry TLS (on the server the client's channel does; in a port forward the tunnel to the
 * server, which is the destination's side). Buffers pass through without copying, a side whose peer is not writable
 * stops reading until it is, end of input on one side becomes a half-close of the other (close_notify on a TLS side,
 * FIN on a plain one). When both directions have ended, what is still queued on each side is flushed first (bounded
 * by {@link #DRAIN_MILLIS}), so that a slow reader gets every byte; when either side fails (a reset, an error, a
 * peer gone), both are aborted with SO_LINGER 0 and no close_notify, so that the other peer sees a reset, never a
 * clean end that would make a truncated transfer look complete.
 */
final class TcpRelay {
    static final String CLIENT_SIDE = "stream-relay-client";
    static final String DESTINATION_SIDE = "stream-relay-destination";
    /** How {@link Events#ended} names a relay that ended because a side failed. */
    static final String FAILED = "failed";
    private static final Logger LOG = LoggerFactory.getLogger(TcpRelay.class);

    /** How long the queued bytes of a finished session may take to reach a slow reader before it is closed. */
    static final long DRAIN_MILLIS = 60_000;

    /** What the relay reports: to the session core on the server, nothing but a log line in a port forward. */
    interface Events {
        /** One direction ended cleanly (towardDestination: the client's input). */
        void directionEnded(boolean towardDestination);

        /** The relay ended: how, and the bytes moved each way. */
        void ended(String how, long toDestination, long fromDestination);

        /** A name for log lines. */
        String label();

        /** The destination's side sent its first bytes (a port forward's server relays); once per relay. */
        default void destinationResponded() {
        }

        /** A side failed (a reset, a TLS alert), just before the relay ends; logged at debug unless overridden. */
        default void sideFailed(boolean clientSide, Throwable cause) {
            LOG.debug("{}: {} side failed: {}", label(), clientSide ? "client" : "destination", cause.toString());
        }
    }

    /** The events of a server session, reported to its core. */
    static Events of(TunnelSession tunnel) {
        return new Events() {
            @Override
            public void directionEnded(boolean towardDestination) {
                tunnel.directionEnded(towardDestination ? TunnelSession.Direction.TO_DESTINATION
                        : TunnelSession.Direction.FROM_DESTINATION, System.nanoTime());
            }

            @Override
            public void ended(String how, long toDestination, long fromDestination) {
                tunnel.relayEnded(how, toDestination, fromDestination, System.nanoTime());
            }

            @Override
            public String label() {
                return "TCP session " + tunnel.info().id();
            }
        };
    }

    private final Events events;
    private final Channel client;
    private final Channel destination;
    private long bytesToDestination;
    private long bytesFromDestination;
    private boolean clientDone;
    private boolean destinationDone;
    private boolean ended;

    TcpRelay(Events events, Channel client, Channel destination) {
        this.events = events;
        this.client = client;
        this.destination = destination;
    }

    ChannelHandler clientSide() {
        return new Side(true);
    }

    ChannelHandler destinationSide() {
        return new Side(false);
    }

    void start() {
        resumeReading(client);
        resumeReading(destination);
        // judged one task later: SslHandler closes a channel whose TLS failed (a TLS 1.3 server's alert refusing our
        // certificate, after our handshake) and its engine's inbound side before it passes the failure on to
        // exceptionCaught, and meanwhile the closed inbound side reads as a close_notify
        destination.closeFuture().addListener(f -> destination.eventLoop().execute(
                () -> end(!(destinationDone || sentCloseNotify(destination)))));
        client.closeFuture().addListener(f -> client.eventLoop().execute(
                () -> end(!(clientDone || sentCloseNotify(client)))));
    }

    /**
     * Reads from a channel again, unless its input already ended (there is nothing more to read, and asking epoll to
     * wait for input on a socket whose input is shut down would wake the loop for nothing).
     */
    private static void resumeReading(Channel c) {
        if (!c.isActive() || c instanceof DuplexChannel && ((DuplexChannel) c).isInputShutdown()) {
            return;
        }
        c.config().setAutoRead(true);
        c.read();
    }

    /** Bytes the client sent before the relay was in place (with the header, or while dialling). */
    void fromClient(ByteBuf b) {
        bytesToDestination += b.readableBytes();
        destination.write(b, destination.voidPromise());
    }

    /** Bytes the destination side sent before the relay was in place. */
    void fromDestination(ByteBuf b) {
        if (bytesFromDestination == 0 && b.isReadable()) {
            events.destinationResponded();
        }
        bytesFromDestination += b.readableBytes();
        client.write(b, client.voidPromise());
    }

    /** The client ended its input before the relay was in place. */
    void clientInputEnded() {
        inputEnded(true);
    }

    private void inputEnded(boolean fromClient) {
        if (fromClient ? clientDone : destinationDone) {
            return;
        }
        if (fromClient) {
            clientDone = true;
        } else {
            destinationDone = true;
        }
        events.directionEnded(fromClient);
        halfCloseOutput(fromClient ? destination : client);
        if (clientDone && destinationDone) {
            drainThenClose();
        }
    }

    /** Ends what a channel sends once what is queued went out: close_notify on TLS (TLS 1.3 keeps reading), FIN. */
    private static void halfCloseOutput(Channel c) {
        SslHandler ssl = c.pipeline().get(SslHandler.class);
        if (ssl != null) {
            c.flush();
            ssl.closeOutbound();
            return;
        }
        c.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (c instanceof DuplexChannel) {
                ((DuplexChannel) c).shutdownOutput();
            }
        });
    }

    /** Both directions ended: each side's queue drains (bounded), then it closes. */
    private void drainThenClose() {
        drainThenClose(destination);
        drainThenClose(client);
    }

    /**
     * Closes a channel once what is queued on it went out, bounded by {@link #DRAIN_MILLIS}; the bound is only armed
     * when something is still queued (usually the flush completes at once), and a channel already closed is left
     * alone (closing or writing it again would only build and fail a promise).
     */
    private static void drainThenClose(Channel c) {
        if (!c.isOpen()) {
            return;
        }
        if (!c.isActive()) {
            c.close();
            return;
        }
        io.netty.channel.ChannelFuture flushed = c.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER);
        if (flushed.isDone()) {
            c.close();
            return;
        }
        io.netty.util.concurrent.ScheduledFuture<?> bound = c.eventLoop().schedule(() -> {
            c.close();
        }, DRAIN_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        flushed.addListener(f -> {
            bound.cancel(false);
            c.close();
        });
    }

    /** A side failed: both connections are reset (no close_notify, no FIN). */
    private void abortBoth() {
        reset(destination);
        reset(client);
    }

    /** Closes a channel with a reset (SO_LINGER 0): its SslHandler is removed first, so no close_notify goes. */
    static void reset(Channel c) {
        SslHandler ssl = c.pipeline().get(SslHandler.class);
        if (ssl != null) {
            c.pipeline().remove(ssl); // so that closing sends no close_notify
        }
        if (c.pipeline().get(LingeringClose.NAME) != null) {
            c.pipeline().remove(LingeringClose.NAME); // nor a FIN first
        }
        if (c.isOpen()) {
            try {
                c.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException e) {
                // not settable on this channel: it closes plainly
            }
        }
        c.close();
    }

    /** Whether a TLS side's peer sent close_notify (a channel that Netty's OpenSSL engine closed on it ended cleanly). */
    private static boolean sentCloseNotify(Channel c) {
        SslHandler ssl = c.pipeline().get(SslHandler.class);
        return ssl != null && ssl.engine().isInboundDone();
    }

    private void end(boolean failed) {
        if (ended) {
            return;
        }
        ended = true;
        boolean complete = clientDone && destinationDone;
        if (failed) {
            abortBoth();
        } else {
            drainThenClose(); // a clean end of one side that closed the channel: the other side closes plainly
        }
        events.ended(complete ? "both directions ended" : failed ? FAILED : "closed", bytesToDestination,
                bytesFromDestination);
    }

    private final class Side extends ChannelInboundHandlerAdapter {
        private final boolean isClient;

        Side(boolean isClient) {
            this.isClient = isClient;
        }

        private Channel peer() {
            return isClient ? destination : client;
        }

        private boolean done() {
            return isClient ? clientDone : destinationDone;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (ended) {
                // an aborted side: this is the ciphertext an SslHandler hands on when it is removed, never data
                ReferenceCountUtil.release(msg);
                return;
            }
            ByteBuf b = (ByteBuf) msg;
            if (isClient) {
                bytesToDestination += b.readableBytes();
            } else {
                if (bytesFromDestination == 0 && b.isReadable()) {
                    events.destinationResponded();
                }
                bytesFromDestination += b.readableBytes();
            }
            Channel peer = peer();
            peer.write(b, peer.voidPromise()); // a failed write fires exceptionCaught there, and nothing is allocated
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Channel peer = peer();
            peer.flush();
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (!done() && ssl != null && ssl.engine().isInboundDone()) {
                inputEnded(isClient); // close_notify seen without its event (OpenSSL after our closeOutbound)
            }
            if (!done() && !peer.isWritable()) {
                // back-pressure: resume when the peer drains (once this side's input ended, the peer's output is
                // shut and never writable again, and there is nothing left to hold back)
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                resumeReading(peer());
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                javax.net.ssl.SSLException cut = done() ? null : TlsTruncation.ofEndedInput(ctx.channel());
                if (cut != null) {
                    events.sideFailed(isClient, cut); // a forward's server gone without close_notify: a reset
                    end(true);
                    return;
                }
                inputEnded(isClient); // FIN (on a server's TLS side, a FIN without close_notify ends its input too)
                return;
            }
            if (evt instanceof SslCloseCompletionEvent) {
                // OpenSSL reports this early after our own close_notify: only a real one counts
                if (((SslCloseCompletionEvent) evt).isSuccess() && sentCloseNotify(ctx.channel())) {
                    inputEnded(isClient);
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // after both directions ended this is our own close; before, a peer that vanished is an abort (a TLS
            // peer whose close_notify closed the channel, as Netty's OpenSSL engine does, ended cleanly)
            end(!(done() || sentCloseNotify(ctx.channel())));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            events.sideFailed(isClient, cause);
            end(true);
        }
    }
}

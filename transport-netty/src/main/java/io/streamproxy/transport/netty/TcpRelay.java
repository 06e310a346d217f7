package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.streamproxy.protocol.TunnelSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays one session between the client's TLS channel and the destination channel on their shared event loop:
 * buffers pass through without copying, a side whose peer is not writable stops reading until it is, end of input on
 * one side becomes a half-close of the other (close_notify towards the client, FIN towards the destination). When
 * both directions have ended, what is still queued for the client is flushed first (bounded by
 * {@link #DRAIN_MILLIS}), so that a slow reader gets every byte; when either side fails (a reset, an error, a peer
 * gone), both are aborted with SO_LINGER 0 and no close_notify, so that the other peer sees a reset, never a clean
 * end that would make a truncated transfer look complete.
 */
final class TcpRelay {
    static final String CLIENT_SIDE = "stream-relay-client";
    static final String DESTINATION_SIDE = "stream-relay-destination";
    private static final Logger LOG = LoggerFactory.getLogger(TcpRelay.class);

    /** How long the queued bytes of a finished session may take to reach a slow client before it is closed. */
    static final long DRAIN_MILLIS = 60_000;

    private final TunnelSession tunnel;
    private final Channel client;
    private final Channel destination;
    private long bytesToDestination;
    private long bytesFromDestination;
    private boolean clientDone;
    private boolean destinationDone;
    private boolean ended;

    TcpRelay(TunnelSession tunnel, Channel client, Channel destination) {
        this.tunnel = tunnel;
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
        client.config().setAutoRead(true);
        destination.config().setAutoRead(true);
        client.read();
        destination.read();
        destination.closeFuture().addListener(f -> end(!destinationDone));
        client.closeFuture().addListener(f -> end(!(clientDone || clientSentCloseNotify())));
    }

    /** Bytes the client sent before the relay was in place (with the header, or while dialling). */
    void fromClient(ByteBuf b) {
        bytesToDestination += b.readableBytes();
        destination.write(b).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    /** The client ended its input before the relay was in place. */
    void clientInputEnded() {
        inputEnded(true);
    }

    private void inputEnded(boolean fromClient) {
        if (fromClient) {
            if (clientDone) {
                return;
            }
            clientDone = true;
            tunnel.directionEnded(TunnelSession.Direction.TO_DESTINATION, System.nanoTime());
            destination.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(f -> {
                if (destination instanceof DuplexChannel) {
                    ((DuplexChannel) destination).shutdownOutput();
                }
            });
        } else {
            if (destinationDone) {
                return;
            }
            destinationDone = true;
            tunnel.directionEnded(TunnelSession.Direction.FROM_DESTINATION, System.nanoTime());
            SslHandler ssl = client.pipeline().get(SslHandler.class);
            client.flush();
            if (ssl != null) {
                ssl.closeOutbound(); // close_notify; TLS 1.3 keeps the other direction open
            } else if (client instanceof DuplexChannel) {
                ((DuplexChannel) client).shutdownOutput();
            }
        }
        if (clientDone && destinationDone) {
            drainThenClose();
        }
    }

    /** Both directions ended: the client's queue drains (bounded), then both close. */
    private void drainThenClose() {
        destination.close();
        io.netty.util.concurrent.ScheduledFuture<?> bound = client.eventLoop().schedule(() -> {
            client.close();
        }, DRAIN_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        client.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(f -> {
            bound.cancel(false);
            client.close();
        });
    }

    /** A side failed: both connections are reset (no close_notify, no FIN). */
    private void abortBoth() {
        reset(destination);
        SslHandler ssl = client.pipeline().get(SslHandler.class);
        if (ssl != null) {
            client.pipeline().remove(ssl); // so that closing sends no close_notify
        }
        if (client.pipeline().get(LingeringClose.NAME) != null) {
            client.pipeline().remove(LingeringClose.NAME); // nor a FIN first
        }
        reset(client);
    }

    private static void reset(Channel c) {
        if (c.isOpen()) {
            try {
                c.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException e) {
                // not settable on this channel: it closes plainly
            }
        }
        c.close();
    }

    private boolean clientSentCloseNotify() {
        SslHandler ssl = client.pipeline().get(SslHandler.class);
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
        tunnel.relayEnded(complete ? "both directions ended" : failed ? "failed" : "closed",
                bytesToDestination, bytesFromDestination, System.nanoTime());
    }

    private final class Side extends ChannelInboundHandlerAdapter {
        private final boolean isClient;

        Side(boolean isClient) {
            this.isClient = isClient;
        }

        private Channel peer() {
            return isClient ? destination : client;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            if (isClient) {
                bytesToDestination += b.readableBytes();
            } else {
                bytesFromDestination += b.readableBytes();
            }
            peer().write(b).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Channel peer = peer();
            peer.flush();
            if (isClient && !clientDone && client.pipeline().get(SslHandler.class) != null && inboundDone()) {
                inputEnded(true); // close_notify seen without its event (OpenSSL after our closeOutbound)
            }
            if (!peer.isWritable()) {
                ctx.channel().config().setAutoRead(false); // back-pressure: resume when the peer drains
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                Channel peer = peer();
                peer.config().setAutoRead(true);
                peer.read();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                inputEnded(isClient); // FIN (for the client, a FIN without close_notify ends its input too)
                return;
            }
            if (evt instanceof SslCloseCompletionEvent) {
                // OpenSSL reports this early after our own close_notify: only a real one counts
                if (((SslCloseCompletionEvent) evt).isSuccess() && inboundDone()) {
                    inputEnded(isClient);
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        private boolean inboundDone() {
            SslHandler ssl = client.pipeline().get(SslHandler.class);
            return ssl == null || ssl.engine().isInboundDone();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // after both directions ended this is our own close; before, a peer that vanished is an abort (a client
            // whose close_notify closed the channel, as Netty's OpenSSL engine does, ended cleanly)
            end(isClient ? !(clientDone || clientSentCloseNotify()) : !destinationDone);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("TCP session {}: {} side failed: {}", tunnel.info().id(), isClient ? "client" : "destination",
                    cause.toString());
            end(true);
        }
    }
}

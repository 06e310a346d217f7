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
 * one side becomes a half-close of the other (close_notify towards the client, FIN towards the destination), and
 * both channels close when both directions have ended or either fails.
 */
final class TcpRelay {
    static final String CLIENT_SIDE = "stream-relay-client";
    static final String DESTINATION_SIDE = "stream-relay-destination";
    private static final Logger LOG = LoggerFactory.getLogger(TcpRelay.class);

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
        destination.closeFuture().addListener(f -> end());
        client.closeFuture().addListener(f -> end());
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
            closeBoth();
        }
    }

    private void closeBoth() {
        client.close();
        destination.close();
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        closeBoth();
        tunnel.relayEnded(clientDone && destinationDone ? "both directions ended" : "closed",
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
            end();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("TCP session {}: {} side failed: {}", tunnel.info().id(), isClient ? "client" : "destination",
                    cause.toString());
            end();
        }
    }
}

package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslClientHelloHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;

/**
 * Reads the ClientHello before the {@code SslHandler} and notes whether the client offered any ALPN id. Needed with
 * Netty's OpenSSL engine only: it cannot fail a handshake whose ALPN ids it does not serve, so such a client ends up
 * with no ALPN, the same as a client that offered none; the JDK engine sends no_application_protocol instead. With
 * this note, a client that offered only ids we do not serve is refused rather than given to a route that serves
 * clients without ALPN.
 */
final class AlpnOffer extends SslClientHelloHandler<Boolean> {
    private static final AttributeKey<Boolean> OFFERED = AttributeKey.valueOf("stream-proxy.alpn-offered");
    private static final int ALPN_EXTENSION = 16;

    AlpnOffer() {
        super(16 * 1024);
    }

    /** @return true when the connection's ClientHello carried an ALPN extension */
    static boolean offered(Channel channel) {
        return Boolean.TRUE.equals(channel.attr(OFFERED).get());
    }

    @Override
    protected Future<Boolean> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) {
        return ctx.executor().newSucceededFuture(clientHello != null && hasAlpn(clientHello));
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, Future<Boolean> future) {
        ctx.channel().attr(OFFERED).set(future.isSuccess() && Boolean.TRUE.equals(future.getNow()));
        ctx.pipeline().remove(this); // a decoder: what it held goes on to the SslHandler
    }

    /** The ClientHello body from its client_version: version, random, session id, suites, compression, extensions. */
    static boolean hasAlpn(ByteBuf in) {
        int offset = in.readerIndex() + 34;
        int end = in.writerIndex();
        if (end - offset < 1) {
            return false;
        }
        offset += 1 + in.getUnsignedByte(offset);
        if (end - offset < 2) {
            return false;
        }
        offset += 2 + in.getUnsignedShort(offset);
        if (end - offset < 1) {
            return false;
        }
        offset += 1 + in.getUnsignedByte(offset);
        if (end - offset < 2) {
            return false;
        }
        int limit = Math.min(end, offset + 2 + in.getUnsignedShort(offset));
        offset += 2;
        while (limit - offset >= 4) {
            int type = in.getUnsignedShort(offset);
            int length = in.getUnsignedShort(offset + 2);
            if (type == ALPN_EXTENSION) {
                return true;
            }
            offset += 4 + length;
        }
        return false;
    }
}

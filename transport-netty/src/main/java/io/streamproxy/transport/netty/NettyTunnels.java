package io.streamproxy.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.streamproxy.Destination;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.protocol.HeaderCodec;
import io.streamproxy.protocol.StreamProtocol;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;

/**
 * Opens stream tunnels as Netty channels, for users who already run Netty: the returned channel has an
 * {@code SslHandler} (client certificate, the stream ALPN id, server name verified) followed by the caller's handler,
 * and the header has been written when the future completes. Bytes the handler reads come from the destination;
 * bytes it writes go there. Build one per {@link StreamClientOptions}; it holds only the TLS context.
 */
public final class NettyTunnels {
    private final StreamClientOptions options;
    private volatile SslContext tls;

    private NettyTunnels(StreamClientOptions options, SslContext tls) {
        this.options = options;
        this.tls = tls;
    }

    /**
     * Replaces the TLS context: tunnels opened from now on handshake with the new material.
     *
     * @param credentials the new material
     * @throws IOException if it cannot be turned into a TLS context (the old one stays)
     */
    void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        tls = TlsContexts.client(credentials, NettyRuntime.from(options.transportOptions()).sslProvider);
    }

    /**
     * Creates the opener (builds the TLS context; OpenSSL when it loads unless {@code netty.ssl} says otherwise).
     *
     * @param options the client settings
     * @return the opener
     * @throws IOException if the credentials cannot be turned into a TLS context
     */
    public static NettyTunnels create(StreamClientOptions options) throws IOException {
        NettyRuntime runtime = NettyRuntime.from(options.transportOptions());
        return new NettyTunnels(options, TlsContexts.client(options.credentials(), runtime.sslProvider));
    }

    /**
     * Connects to the server on {@code group}, handshakes and sends the header for {@code destination}.
     *
     * @param group       the event loop group to run the channel on
     * @param channelType the socket channel class matching the group (NIO or epoll)
     * @param destination where the server should dial
     * @param handler     the caller's handler, added after the {@code SslHandler}
     * @return a future that completes with the channel once the header is written, or fails (connect, handshake,
     *         ALPN or timeout); cancelling it closes the channel, and no header is sent after that
     */
    public Future<Channel> open(EventLoopGroup group, Class<? extends SocketChannel> channelType,
                                Destination destination, ChannelHandler handler) {
        Promise<Channel> result = group.next().newPromise();
        InetSocketAddress server = options.server();
        Bootstrap b = new Bootstrap().group(group).channel(channelType)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler ssl = TlsContexts.newHandler(tls, ch.alloc(), options.serverName(), server.getPort());
                        ssl.setHandshakeTimeout(options.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
                        ch.pipeline().addLast("ssl", ssl);
                        ch.pipeline().addLast("tunnel", handler);
                        ssl.handshakeFuture().addListener(f -> {
                            if (!f.isSuccess()) {
                                result.tryFailure(f.cause());
                                ch.close();
                                return;
                            }
                            String alpn = TlsContexts.applicationProtocol(ssl);
                            if (alpn != null && !alpn.equals(StreamProtocol.ALPN)) {
                                result.tryFailure(new SSLHandshakeException("server negotiated ALPN '" + alpn
                                        + "', not " + StreamProtocol.ALPN));
                                ch.close();
                                return;
                            }
                            if (result.isDone()) {
                                ch.close(); // the caller gave up (its timeout): no header goes out late
                                return;
                            }
                            ch.writeAndFlush(Unpooled.wrappedBuffer(headerFor(destination))).addListener(w -> {
                                if (w.isSuccess()) {
                                    result.trySuccess(ch);
                                } else {
                                    result.tryFailure(w.cause());
                                    ch.close();
                                }
                            });
                        });
                    }
                });
        ChannelFuture connect = b.connect(server);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                result.tryFailure(f.cause());
            }
        });
        // a caller that cancels (its timeout) or any failure closes the channel: nothing is left open
        result.addListener(f -> {
            Channel c = connect.channel();
            if (!f.isSuccess() && c.isOpen()) { // never opened (no descriptor left: EMFILE) has no loop to close on
                c.close();
            }
        });
        return result;
    }

    static byte[] headerFor(Destination destination) {
        return destination == null ? HeaderCodec.healthProbe() : HeaderCodec.encode(destination);
    }
}

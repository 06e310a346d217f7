package io.streamproxy.cli;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.transport.netty.StreamTunnelService;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/**
 * The server's TLS port on Netty: mutual TLS, then by ALPN either a stream tunnel ({@link StreamTunnelService}) or
 * the HTTPS API ({@code GET /healthz}, {@code GET /metrics}) on Netty's HTTP/1.1 codec. Without a tunnel service it
 * serves the API alone (for transports whose TCP listener cannot share its port).
 */
final class ApiServer implements Closeable {
    private final EventLoopGroup group;
    private final Channel listener;
    private final StreamTunnelService tunnels;

    ApiServer(InetSocketAddress bind, TlsCredentials credentials, StreamServerOptions tunnelOptions,
              Metrics metrics) throws IOException {
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.tunnels = tunnelOptions == null ? null : StreamTunnelService.create(tunnelOptions);
        SslContext tls;
        try {
            tls = SslContextBuilder.forServer(credentials.privateKey(),
                            credentials.certificateChain().toArray(new X509Certificate[0]))
                    .trustManager(credentials.trustedCas().toArray(new X509Certificate[0]))
                    .clientAuth(ClientAuth.REQUIRE)
                    .protocols("TLSv1.3", "TLSv1.2")
                    .sslProvider(SslProvider.JDK) // the JDK engine relays half-close; Netty's OpenSSL one does not
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            tunnels != null ? new String[] {StreamProtocol.ALPN, ApplicationProtocolNames.HTTP_1_1}
                                    : new String[] {ApplicationProtocolNames.HTTP_1_1}))
                    .build();
        } catch (IOException | RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
        long handshakeMillis = tunnelOptions != null ? tunnelOptions.headerTimeout().toMillis() : 10_000;
        ServerBootstrap b = new ServerBootstrap().group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler ssl = tls.newHandler(ch.alloc());
                        ssl.setHandshakeTimeout(handshakeMillis, TimeUnit.MILLISECONDS);
                        ch.pipeline().addLast(ssl);
                        ch.pipeline().addLast(new ApplicationProtocolNegotiationHandler(
                                ApplicationProtocolNames.HTTP_1_1) {
                            @Override
                            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                                if (tunnels != null && StreamProtocol.ALPN.equals(protocol)) {
                                    ctx.pipeline().addLast(tunnels.newHandler());
                                } else {
                                    ctx.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192),
                                            new Api(metrics));
                                }
                            }

                            @Override
                            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                                if (tunnels == null) {
                                    ctx.close();
                                    return;
                                }
                                // the tunnel handler finds the failed handshake, counts the refusal and closes
                                ctx.pipeline().addLast(tunnels.newHandler());
                            }
                        });
                    }
                });
        try {
            this.listener = b.bind(bind).sync().channel();
        } catch (Exception e) {
            close();
            throw new IOException("cannot listen on " + Values.text(bind) + ": " + e.getMessage(), e);
        }
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    int activeTunnels() {
        return tunnels == null ? 0 : tunnels.activeSessions();
    }

    /** {@code /healthz} and {@code /metrics}. */
    private static final class Api extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Metrics metrics;

        Api(Metrics metrics) {
            this.metrics = metrics;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String path = request.uri();
            int q = path.indexOf('?');
            if (q >= 0) {
                path = path.substring(0, q);
            }
            FullHttpResponse response;
            if (request.method() != HttpMethod.GET) {
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
            } else if (path.equals("/healthz")) {
                response = text(HttpResponseStatus.OK, "ok", "text/plain");
            } else if (path.equals("/metrics")) {
                response = text(HttpResponseStatus.OK, metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8");
            } else {
                response = text(HttpResponseStatus.NOT_FOUND, "not found\n", "text/plain");
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body, String type) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            return r;
        }
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (tunnels != null) {
            tunnels.close();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}

package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

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
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.Future;
import io.streamproxy.Destination;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.RecordingListener;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.TestPki;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A host's own Netty HTTPS server that serves HTTP/1.1 and stream tunnels on one port, chosen by ALPN, with mutual
 * TLS: the stream side is {@link StreamTunnelService#newHandler()} behind the host's {@code SslHandler}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AlpnHostTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final TestPki pki = TestPki.shared();
    private final RecordingListener events = new RecordingListener();
    private EventLoopGroup group;
    private StreamTunnelService tunnels;
    private Channel listener;
    private TcpDestination echo;

    @BeforeEach
    void startHost() throws Exception {
        echo = TcpDestination.echo();
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        tunnels = StreamTunnelService.create(StreamServerOptions.builder(pki.serverCredentials())
                .tcp(new InetSocketAddress(0)).listener(events).build());
        SslContext tls = SslContextBuilder.forServer(pki.server().key(), pki.server().certificate())
                .trustManager(pki.caCertificate()).clientAuth(ClientAuth.REQUIRE)
                // the JDK engine: Netty's OpenSSL engine closes both directions on close_notify (no half-close)
                .sslProvider(io.netty.handler.ssl.SslProvider.JDK)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        StreamProtocol.ALPN, ApplicationProtocolNames.HTTP_1_1))
                .build();
        listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        ch.pipeline().addLast(new ApplicationProtocolNegotiationHandler(
                                ApplicationProtocolNames.HTTP_1_1) {
                            @Override
                            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                                if (StreamProtocol.ALPN.equals(protocol)) {
                                    ctx.pipeline().addLast(tunnels.newHandler());
                                } else {
                                    ctx.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536),
                                            new Healthz());
                                }
                            }
                        });
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    }

    /** The host's API: {@code GET /healthz} answers {@code ok}. */
    static final class Healthz extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean found = request.uri().equals("/healthz");
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    found ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND,
                    Unpooled.copiedBuffer(found ? "ok" : "not found", StandardCharsets.US_ASCII));
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            response.headers().set(HttpHeaderNames.CONNECTION, "close");
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @AfterEach
    void stopHost() throws Exception {
        listener.close().sync();
        tunnels.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        echo.close();
    }

    private InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    @Test
    void onePort_servesHttp11AndTunnels_chosenByAlpn() throws Exception {
        try (SSLSocket http = RawTlsClient.connect(address(), pki.clientCredentials(), null,
                new String[] {"http/1.1"}, WAIT)) {
            http.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: agent\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(http.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(response).startsWith("HTTP/1.1 200 OK").endsWith("ok");
        }
        for (String transport : new String[] {"netty"}) {
            try (StreamClient client = StreamClient.create(StreamClientOptions.builder(address(),
                    pki.clientCredentials()).transport(transport).build());
                 TcpTunnel t = client.openTcp(echo.host(), echo.port())) {
                t.setReadTimeout(WAIT);
                t.output().write(("tunnelled by " + transport).getBytes(StandardCharsets.US_ASCII));
                t.shutdownOutput();
                assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("tunnelled by " + transport);
            }
            events.awaitClosed(WAIT);
        }
    }

    @Test
    void clientWithoutCertificate_getsNeitherHttpNorTunnel() throws Exception {
        Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(address(), null, pki.clientCredentials(),
                    new String[] {"http/1.1"}, WAIT)) {
                s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: agent\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                if (s.getInputStream().read() >= 0) {
                    throw new AssertionError("served without a client certificate");
                }
                throw new java.io.IOException("closed");
            }
        });
        assertThat(failure).isInstanceOf(java.io.IOException.class);
    }

    /** A socket channel that cannot be made, as when the process has no descriptor left (EMFILE). */
    public static final class NoDescriptorLeft extends NioSocketChannel {
        public NoDescriptorLeft() {
            throw new io.netty.channel.ChannelException("newSocketStream(..) failed: Too many open files");
        }
    }

    @Test
    void aTunnelWhoseSocketCannotBeMade_failsItsFuture_withoutAnErrorInNettysListeners() throws Exception {
        NettyTunnels opener = NettyTunnels.create(StreamClientOptions.builder(address(), pki.clientCredentials())
                .build());
        int mark = io.streamproxy.testkit.RecordedLogs.mark();
        Future<Channel> opened = opener.open(group, NoDescriptorLeft.class, Destination.of(echo.host(), echo.port()),
                new io.netty.channel.ChannelInboundHandlerAdapter());
        java.util.concurrent.CountDownLatch listenersRan = new java.util.concurrent.CountDownLatch(1);
        opened.addListener(f -> listenersRan.countDown()); // after open()'s own listeners, which run in order
        assertThat(listenersRan.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(opened.cause()).isInstanceOf(io.netty.channel.ChannelException.class);
        // a listener that throws is logged by Netty's promise at WARN: closing a channel that never was
        assertThat(io.streamproxy.testkit.RecordedLogs.since(mark, org.slf4j.event.Level.WARN)).isEmpty();
    }

    @Test
    void nettyNativeTunnel_isAChannelWithTheCallersHandler() throws Exception {
        NettyTunnels opener = NettyTunnels.create(StreamClientOptions.builder(address(), pki.clientCredentials())
                .build());
        BlockingQueue<String> replies = new ArrayBlockingQueue<>(4);
        Future<Channel> opened = opener.open(group, NioSocketChannel.class, Destination.of(echo.host(), echo.port()),
                new SimpleChannelInboundHandler<io.netty.buffer.ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, io.netty.buffer.ByteBuf msg) {
                        replies.add(msg.toString(StandardCharsets.US_ASCII));
                    }
                });
        Channel ch = opened.get(10, TimeUnit.SECONDS);
        ch.writeAndFlush(Unpooled.copiedBuffer("native", StandardCharsets.US_ASCII)).sync();
        StringBuilder got = new StringBuilder();
        while (got.length() < 6) {
            String r = replies.poll(10, TimeUnit.SECONDS);
            assertThat(r).as("echo through a native tunnel").isNotNull();
            got.append(r);
        }
        assertThat(got.toString()).isEqualTo("native");
        ch.close().sync();
    }
}

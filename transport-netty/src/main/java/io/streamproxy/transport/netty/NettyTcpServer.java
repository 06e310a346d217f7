package io.streamproxy.transport.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.streamproxy.RefusalReason;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code netty} transport's TCP-over-TLS listener: {@link LingeringClose}, an {@link SslHandler} (mutual TLS,
 * stream ALPN id, handshake bounded by the header timeout) and a {@link StreamTunnelHandler} per connection, on an
 * event loop group it owns.
 */
final class NettyTcpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(NettyTcpServer.class);

    private final AcceptFailures acceptFailures = new AcceptFailures("TCP stream server");
    private final NettyRuntime runtime;
    private final EventLoopGroup group;
    private final StreamTunnelService service;
    private final Channel listener;
    private final InetSocketAddress localAddress;
    private final java.util.List<String> alpn;
    private final java.util.concurrent.atomic.AtomicInteger lingering = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;
    private volatile SslContext tls;

    NettyTcpServer(StreamServerOptions options) throws IOException {
        this.runtime = NettyRuntime.from(options.transportOptions());
        this.tls = TlsContexts.server(options.credentials(), runtime.sslProvider, options.alpnProtocols());
        this.alpn = options.alpnProtocols();
        this.service = StreamTunnelService.create(options);
        this.group = runtime.newGroup("stream-proxy-netty-tcp");
        ServerBootstrap b = new ServerBootstrap().group(group).channel(runtime.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        admit(ch, tls, options); // the context of now: a reload applies to the next connection
                    }
                });
        try {
            this.listener = b.bind(options.tcpAddress()).sync().channel();
        } catch (Exception e) {
            service.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            throw new IOException("cannot listen on " + options.tcpAddress() + ": " + e.getMessage(), e);
        }
        listener.pipeline().addLast(acceptFailures); // after Netty's acceptor, which pauses on a failed accept
        this.localAddress = (InetSocketAddress) listener.localAddress();
        service.core.onCapacity(this::resumeAccepting);
        LOG.info("TCP stream server (netty, {}) listening on {}", runtime.describe(), localAddress);
    }

    /**
     * A connection was accepted: the core admits it (its pipeline is set up now) or lets it wait for a handshake
     * slot of its source (no TLS engine, not read, closed at its deadline). While every slot is held the listener
     * stops accepting, so that a burst waits in the listen backlog.
     */
    private void admit(SocketChannel ch, SslContext tls, StreamServerOptions options) {
        acceptFailures.accepted();
        boolean[] admitting = {true};
        TunnelSession tunnel = service.core.accept(ch.remoteAddress(), System.nanoTime(), t -> {
            if (admitting[0]) {
                setUp(ch, t, tls, options, false); // admitted at once: the channel reads as it always does
            } else {
                ch.eventLoop().execute(() -> setUp(ch, t, tls, options, true)); // after a wait: resume reading
            }
        });
        admitting[0] = false;
        if (tunnel == null) {
            ch.close();
        } else if (tunnel.isWaiting()) {
            ch.config().setAutoRead(false);
            service.track(ch);
            ch.eventLoop().schedule(() -> {
                if (tunnel.tick(System.nanoTime()) != TunnelSession.Step.WAIT
                        && tunnel.refusalReason() == RefusalReason.CAPACITY) {
                    ch.close();
                }
            }, Math.max(0, tunnel.nextDeadline() - System.nanoTime()), TimeUnit.NANOSECONDS);
            ch.closeFuture().addListener(f -> {
                if (tunnel.isWaiting()) {
                    tunnel.close("client left while waiting for a handshake slot");
                }
            });
        }
        if (service.core.saturated()) {
            Channel parent = ch.parent();
            parent.config().setAutoRead(false);
            if (!service.core.saturated()) {
                parent.config().setAutoRead(true); // a slot was freed meanwhile, and its signal may have been missed
            }
        }
    }

    private void setUp(SocketChannel ch, TunnelSession tunnel, SslContext tls, StreamServerOptions options,
                       boolean waited) {
        if (!ch.isActive()) {
            tunnel.close("client left while waiting for a handshake slot");
            return;
        }
        SslHandler ssl = TlsContexts.newHandler(tls, ch.alloc(), null, 0);
        // a backstop: the core's deadline (handshake plus header) closes the connection first
        ssl.setHandshakeTimeout(options.headerTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        // the close_notify after the destination's end waits behind what a slow client has not read yet: give it
        // the relay's drain bound, not SslHandler's 3 s, which cut such streams short
        ssl.setCloseNotifyFlushTimeout(TcpRelay.DRAIN_MILLIS, TimeUnit.MILLISECONDS);
        ch.pipeline().addLast(LingeringClose.NAME, new LingeringClose(lingering, options.maxHandshakes()));
        if (runtime.sslProvider != SslProvider.JDK) {
            ch.pipeline().addLast("alpn-offer", new AlpnOffer());
        }
        ch.pipeline().addLast("ssl", ssl);
        ch.pipeline().addLast("stream", service.newHandler(tunnel));
        if (waited) {
            ch.config().setAutoRead(true);
        }
    }

    private void resumeAccepting() {
        Channel l = listener;
        if (l != null && !l.config().isAutoRead() && !closed) {
            l.config().setAutoRead(true);
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int activeSessions() {
        return service.activeSessions();
    }

    @Override
    public void updateCredentials(TlsCredentials credentials) throws IOException {
        this.tls = TlsContexts.server(credentials, runtime.sslProvider, alpn);
    }

    @Override
    public void drain() {
        service.core.drain();
    }

    @Override
    public String description() {
        return runtime.describe();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        service.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        LOG.info("TCP stream server (netty) on {} closed", localAddress);
    }
}

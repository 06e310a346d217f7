package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ScheduledFuture;
import io.streamproxy.Protocol;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.internal.Resolver;
import io.streamproxy.internal.SessionEvents;
import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.dtls.DtlsClientTable;
import io.streamproxy.protocol.dtls.DtlsEngines;
import io.streamproxy.protocol.dtls.DtlsScratch;
import io.streamproxy.protocol.dtls.DtlsServerSession;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.PortUnreachableException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code netty} transport's UDP-over-DTLS server: one datagram channel, its event loop running every session
 * ({@link DtlsServerSession}, the state machine the JDK transport shares) and every destination channel, and a
 * 100 ms tick on the same loop for retransmission, header deadlines and idle reaping while any session exists (an
 * idle server's loop sleeps until a datagram comes).
 */
final class NettyUdpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(NettyUdpServer.class);

    private final StreamServerOptions options;
    private final NettyRuntime runtime;
    private volatile SSLContext dtls;
    private final EventLoopGroup group;
    private final Channel channel;
    private final EventLoop loop;
    private final InetSocketAddress localAddress;
    private final DtlsClientTable table;
    private final SessionListener events;
    private final SessionCore core;
    private final DtlsScratch scratch = new DtlsScratch();
    private final Resolver resolver;
    /** The 100 ms tick while any session exists, else null; read and written on the loop only. */
    private ScheduledFuture<?> ticker;
    private volatile boolean closed;

    NettyUdpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        this.runtime = NettyRuntime.from(options.transportOptions());
        this.events = SessionEvents.reporting(options.listener());
        this.core = new SessionCore(Protocol.UDP, options, events);
        this.table = new DtlsClientTable(core, new DtlsClientTable.Sessions() {
            @Override
            public DtlsServerSession create(SocketAddress client, TunnelSession tunnel) {
                Session s = new Session((InetSocketAddress) client);
                s.logic = new DtlsServerSession(DtlsEngines.server(dtls), tunnel, s, options.dtlsMtu(), scratch);
                return s.logic;
            }

            @Override
            public void send(SocketAddress to, ByteBuffer datagram) {
                ByteBuf b = channel.alloc().directBuffer(datagram.remaining()).writeBytes(datagram);
                channel.writeAndFlush(new DatagramPacket(b, (InetSocketAddress) to), channel.voidPromise());
            }

            @Override
            public SSLEngine engine() {
                return DtlsEngines.server(dtls);
            }
        });
        try {
            this.dtls = options.credentials().newSslContext("DTLSv1.2");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the DTLS context: " + e.getMessage(), e);
        }
        this.group = runtime.newGroup("stream-proxy-netty-udp", 1);
        this.resolver = new Resolver("stream-proxy-netty-udp-resolve");
        try {
            this.channel = runtime.dtlsBootstrap(group, new FromClients())
                    .bind(options.udpAddress()).sync().channel();
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            resolver.close();
            throw new IOException("cannot listen on UDP " + options.udpAddress() + ": " + e.getMessage(), e);
        }
        this.loop = channel.eventLoop();
        this.localAddress = (InetSocketAddress) channel.localAddress();
        LOG.info("UDP stream server (netty, {}) listening on {}", runtime.describe(), localAddress);
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int activeSessions() {
        return core.activeSessions();
    }

    @Override
    public void updateCredentials(TlsCredentials credentials) throws IOException {
        try {
            this.dtls = credentials.newSslContext("DTLSv1.2"); // engines made before keep the old context
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the DTLS context: " + e.getMessage(), e);
        }
    }

    @Override
    public void drain() {
        core.drain();
    }

    @Override
    public String description() {
        return (runtime.epoll ? "epoll" : "nio") + ", JDK DTLS engine";
    }

    private void tick() {
        table.tick(System.nanoTime());
        if (table.size() == 0 && ticker != null) {
            ticker.cancel(false); // nothing to time: an idle server's loop sleeps until a datagram comes
            ticker = null;
        }
    }

    /** Starts the 100 ms tick when the first session exists (on the loop); it stops once none is left. */
    private void tickWhileSessions() {
        if (ticker == null && !closed && table.size() > 0) {
            ticker = loop.scheduleAtFixedRate(this::tick, 100, 100, TimeUnit.MILLISECONDS);
        }
    }

    /** Datagrams from clients, demultiplexed by source address. */
    private final class FromClients extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            table.fromClient(packet.sender(), packet.content().nioBuffer(), System.nanoTime());
            tickWhileSessions();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof PortUnreachableException)) {
                LOG.debug("UDP server channel: {}", cause.toString());
            }
        }
    }

    /** The sockets of one session. */
    private final class Session implements DtlsServerSession.Io {
        final InetSocketAddress client;
        DtlsServerSession logic;
        Channel upstream;

        Session(InetSocketAddress client) {
            this.client = client;
        }

        @Override
        public void toClient(ByteBuffer datagram) {
            ByteBuf b = channel.alloc().directBuffer(datagram.remaining()).writeBytes(datagram);
            channel.writeAndFlush(new DatagramPacket(b, client), channel.voidPromise());
        }

        @Override
        public void resolve(String host, long deadline) {
            resolver.resolve(host, deadline, loop, Resolver.Callback.of(logic::resolved, logic::resolveFailed));
        }

        @Override
        public void dropped(SessionInfo session, int size, String reason) {
            events.datagramDropped(session, size, reason);
        }

        @Override
        public void connect(InetSocketAddress address) {
            runtime.plainDatagramBootstrap(loop, new FromDestination(this))
                    .connect(address).addListener(f -> {
                        io.netty.channel.ChannelFuture cf = (io.netty.channel.ChannelFuture) f;
                        if (!f.isSuccess()) {
                            logic.destinationFailed(SocketFailures.words(f.cause()));
                        } else if (logic.isEnded()) {
                            cf.channel().close();
                        } else {
                            upstream = cf.channel();
                            logic.destinationOpened();
                        }
                    });
        }

        @Override
        public boolean toDestination(ByteBuffer datagram) {
            Channel up = upstream;
            if (up == null) {
                return false;
            }
            ByteBuf b = up.alloc().directBuffer(datagram.remaining()).writeBytes(datagram);
            up.writeAndFlush(b, up.voidPromise());
            return true;
        }

        @Override
        public boolean toDestination(ByteBuffer prefix, ByteBuffer datagram) {
            Channel up = upstream;
            if (up == null) {
                return false;
            }
            ByteBuf b = up.alloc().directBuffer(prefix.remaining() + datagram.remaining())
                    .writeBytes(prefix.duplicate()).writeBytes(datagram);
            up.writeAndFlush(b, up.voidPromise());
            return true;
        }

        @Override
        public java.net.SocketAddress serverAddress() {
            return localAddress;
        }

        @Override
        public void closeDestination() {
            if (upstream != null) {
                upstream.close();
                upstream = null;
            }
        }

        @Override
        public void established() {
            table.established(logic);
        }

        @Override
        public void ended() {
            table.ended(logic);
        }
    }

    /** Datagrams from one session's destination. */
    private static final class FromDestination extends SimpleChannelInboundHandler<Object> {
        private final Session session;

        FromDestination(Session session) {
            this.session = session;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            ByteBuf content = msg instanceof DatagramPacket ? ((DatagramPacket) msg).content() : (ByteBuf) msg;
            session.logic.fromDestination(content.nioBuffer(), System.nanoTime());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP port unreachable and the like: the datagram is lost, the session stays (as with plain UDP)
            LOG.debug("UDP destination channel: {}", cause.toString());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        core.closing();
        loop.submit(() -> {
            if (ticker != null) {
                ticker.cancel(false);
                ticker = null;
            }
            table.endAll("server closed");
        }).awaitUninterruptibly(5, TimeUnit.SECONDS);
        channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        resolver.close();
        LOG.info("UDP stream server (netty) on {} closed", localAddress);
    }
}

package io.streamproxy.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.streamproxy.internal.NamedThreads;
import java.util.Locale;
import java.util.Map;

/**
 * The choices a Netty endpoint runs with: epoll or NIO, and the JDK's TLS or OpenSSL (BoringSSL through
 * netty-tcnative). The options {@code netty.io} ({@code auto}, {@code epoll}, {@code nio}), {@code netty.ssl}
 * ({@code jdk}, {@code openssl}, {@code auto}) and {@code netty.threads} choose; asking for a native that does not
 * load is an error that says why. I/O defaults to epoll and TLS to OpenSSL, each when it loads ({@code auto}).
 * Netty's OpenSSL engine closes both directions when it receives close_notify (netty/netty#6167); every OpenSSL
 * handler here runs a {@link HalfCloseSslEngine} instead, which keeps the half-close this protocol must relay.
 */
final class NettyRuntime {
    final boolean epoll;
    final SslProvider sslProvider;
    final int threads;

    private NettyRuntime(boolean epoll, SslProvider sslProvider, int threads) {
        this.epoll = epoll;
        this.sslProvider = sslProvider;
        this.threads = threads;
    }

    static NettyRuntime from(Map<String, String> options) {
        String io = options.getOrDefault("netty.io", "auto").toLowerCase(Locale.ROOT);
        String ssl = options.getOrDefault("netty.ssl", "auto").toLowerCase(Locale.ROOT);
        int threads = Integer.parseInt(options.getOrDefault("netty.threads",
                Integer.toString(Runtime.getRuntime().availableProcessors())));
        boolean epoll;
        switch (io) {
            case "auto":
                epoll = Epoll.isAvailable();
                break;
            case "epoll":
                if (!Epoll.isAvailable()) {
                    throw new IllegalArgumentException("netty.io=epoll, but epoll is unavailable: "
                            + Epoll.unavailabilityCause());
                }
                epoll = true;
                break;
            case "nio":
                epoll = false;
                break;
            default:
                throw new IllegalArgumentException("netty.io must be auto, epoll or nio, not '" + io + "'");
        }
        SslProvider provider;
        switch (ssl) {
            case "auto":
                provider = OpenSsl.isAvailable() && HalfCloseSslEngine.available() ? SslProvider.OPENSSL
                        : SslProvider.JDK;
                break;
            case "openssl":
                if (!OpenSsl.isAvailable()) {
                    throw new IllegalArgumentException("netty.ssl=openssl, but OpenSSL is unavailable: "
                            + OpenSsl.unavailabilityCause());
                }
                if (!HalfCloseSslEngine.available()) {
                    throw new IllegalArgumentException("netty.ssl=openssl, but this Netty's OpenSSL engine is not"
                            + " the one HalfCloseSslEngine was built for (it keeps half-close)");
                }
                provider = SslProvider.OPENSSL;
                break;
            case "jdk":
                provider = SslProvider.JDK;
                break;
            default:
                throw new IllegalArgumentException("netty.ssl must be jdk, openssl or auto, not '" + ssl + "'");
        }
        return new NettyRuntime(epoll, provider, Math.max(1, threads));
    }

    EventLoopGroup newGroup(String name) {
        return newGroup(name, threads);
    }

    EventLoopGroup newGroup(String name, int count) {
        IoHandlerFactory factory = epoll ? EpollKeptRegistrations.newFactory() : NioIoHandler.newFactory();
        // Netty's own thread class: on any other thread its recyclers allocate anew on every write and its buffer
        // allocator shares its pools between threads
        return new MultiThreadIoEventLoopGroup(count, new NamedThreads(name, FastThreadLocalThread::new), factory);
    }

    Class<? extends ServerChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    Class<? extends SocketChannel> socketChannel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** Room per datagram a tunnel's own sockets read: one byte more than a tunnel carries, so larger ones show. */
    static final int TUNNEL_DATAGRAM = 16384 + 1;
    /** Room per datagram a DTLS socket reads: the largest record, 16 KiB of plaintext and its expansion. */
    static final int DTLS_DATAGRAM = 16384 + 256;

    /** The socket buffers of every datagram channel, each way: room for bursts of full-size datagrams. */
    static final int DATAGRAM_SOCKET_BUFFER = 4 << 20;

    /**
     * The most datagrams one channel reads per event-loop round before the loop serves other channels: with
     * Netty's default of one read per round, a 64 KiB read buffer ended every round at 3 datagrams.
     */
    static final int DATAGRAMS_PER_ROUND = 32;

    /**
     * A bootstrap for a DTLS socket: one that exchanges records with a peer of this protocol, so it reads with
     * UDP GRO where the kernel has it (a run of equal-size records the peer sent in one UDP_SEGMENT send, or that
     * the network coalesced, arrives in one read, and Netty hands them on one by one), besides what
     * {@link #plainDatagramBootstrap} sets up.
     *
     * @param group   the event loop (group) the channel runs on
     * @param handler the channel's handler
     * @return the bootstrap, to bind or connect
     */
    Bootstrap dtlsBootstrap(EventLoopGroup group, ChannelHandler handler) {
        return datagramBootstrap(group, DTLS_DATAGRAM, true, handler);
    }

    /**
     * A bootstrap for a plain datagram socket (to a destination, or a port forward's local side), set up as every
     * datagram channel here runs: large socket buffers; on epoll several datagrams per {@code recvmmsg} call (a
     * 64 KiB buffer cut into {@link #TUNNEL_DATAGRAM}-byte slots; a larger datagram arrives cut to its slot), on NIO
     * one per call, up to {@link #DATAGRAMS_PER_ROUND} per round; flushes put off to the end of the event loop's
     * round ({@link FlushConsolidationHandler}), so that a round's datagrams leave together; and on epoll runs of
     * equal-size datagrams to one peer sent as one UDP_SEGMENT send ({@link DatagramSegmenter}).
     *
     * @param group   the event loop (group) the channel runs on
     * @param handler the channel's handler, after the flush consolidation
     * @return the bootstrap, to bind or connect
     */
    Bootstrap plainDatagramBootstrap(EventLoopGroup group, ChannelHandler handler) {
        return datagramBootstrap(group, TUNNEL_DATAGRAM, false, handler);
    }

    private Bootstrap datagramBootstrap(EventLoopGroup group, int maxDatagram, boolean dtls, ChannelHandler handler) {
        boolean gro = dtls && epoll; // NIO has neither GRO nor batched reads
        Bootstrap b = new Bootstrap().group(group).channel(datagramChannel());
        if (epoll) {
            // with GRO one read takes one datagram or one coalesced run into the whole buffer (Netty's recvmsg)
            b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, gro ? 0 : maxDatagram);
        }
        return b.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(
                        epoll ? Math.max(65536, 2 * maxDatagram) : 65536).maxMessagesPerRead(DATAGRAMS_PER_ROUND))
                .option(ChannelOption.SO_RCVBUF, DATAGRAM_SOCKET_BUFFER)
                .option(ChannelOption.SO_SNDBUF, DATAGRAM_SOCKET_BUFFER)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (gro) {
                            readCoalesced(ch, maxDatagram);
                        }
                        if (epoll && DatagramSegmenter.supported()) {
                            ch.pipeline().addLast(DatagramSegmenter.NAME, new DatagramSegmenter());
                        }
                        ch.pipeline().addLast(new FlushConsolidationHandler(
                                FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true), handler);
                    }
                });
    }

    /** Turns UDP GRO on, or where the kernel lacks it goes back to {@code recvmmsg} slots of maxDatagram. */
    private static void readCoalesced(Channel ch, int maxDatagram) {
        try {
            if (ch.config().setOption(EpollChannelOption.UDP_GRO, true)) {
                return;
            }
        } catch (RuntimeException e) {
            // UDP_GRO came with Linux 5.0
        }
        ch.config().setOption(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, maxDatagram);
    }

    private Class<? extends DatagramChannel> datagramChannel() {
        return epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
    }

    String describe() {
        return (epoll ? "epoll" : "nio") + ", " + (sslProvider == SslProvider.OPENSSL
                ? "OpenSSL (" + OpenSsl.versionString() + ")" : "JDK TLS");
    }
}

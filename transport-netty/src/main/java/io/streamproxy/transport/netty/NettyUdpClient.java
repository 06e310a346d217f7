package io.streamproxy.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.PortForward;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.protocol.dtls.DtlsEngines;
import io.streamproxy.internal.ClientSupport;
import io.streamproxy.internal.ProbeFailures;
import io.streamproxy.internal.UdpClientTemplate;
import io.streamproxy.spi.UdpClientTransport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/** The {@code netty} transport's UDP-over-DTLS client: a connected datagram channel per tunnel on a shared loop. */
final class NettyUdpClient extends UdpClientTemplate {
    private final StreamClientOptions options;
    private final NettyRuntime runtime;
    private volatile SSLContext dtls;
    private final EventLoopGroup group;
    private final Set<NettyDatagramTunnel> open = ConcurrentHashMap.newKeySet();
    private final Set<NettyUdpPortForward> forwards = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    NettyUdpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.runtime = NettyRuntime.from(options.transportOptions());
        this.dtls = jdkDtlsContext(options.credentials());
        // one loop: the forward's local socket and every flow's channel must share it (NettyUdpPortForward)
        this.group = runtime.newGroup("stream-proxy-netty-udp-client", 1);
    }

    @Override
    public void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        dtls = jdkDtlsContext(credentials);
    }



    @Override
    protected Duration handshakeTimeout() {
        return options.handshakeTimeout();
    }

    private static final ProbeFailures DTLS_FAILURES = new ProbeFailures("DTLS",
            List.of(io.netty.channel.ConnectTimeoutException.class), List.of());

    @Override
    protected HealthProbeException classify(Exception failure, Duration timeout) {
        return DTLS_FAILURES.classify(failure, timeout);
    }

    @Override
    protected NettyDatagramTunnel connect(Duration timeout) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        InetSocketAddress server = ClientSupport.resolve(options.server());
        NettyDatagramTunnel[] holder = new NettyDatagramTunnel[1];
        InetSocketAddress target = server;
        Channel ch;
        try {
            ch = runtime.dtlsBootstrap(group,
                            new io.netty.channel.ChannelInboundHandlerAdapter())
                    .connect(target).sync().channel();
        } catch (Exception e) {
            throw new IOException("cannot open a UDP socket to " + target + ": " + e.getMessage(), e);
        }
        NettyDatagramTunnel t = new NettyDatagramTunnel(ch, DtlsEngines.client(dtls, options.serverName(),
                target.getPort()), options.dtlsMtu(), () -> open.remove(holder[0]));
        holder[0] = t;
        ch.pipeline().addLast(t);
        open.add(t);
        try {
            if (closed) {
                throw new IOException("client is closed");
            }
            t.handshake(timeout);
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /**
     * Forwards on this client's one event loop, where every flow's DTLS channel runs too (see
     * {@link NettyUdpPortForward}).
     */
    @Override
    public PortForward forward(Destination destination, InetSocketAddress listen, Duration idleTimeout)
            throws IOException {
        UdpClientTransport.checkIdleTimeout(idleTimeout);
        if (closed) {
            throw new IOException("client is closed");
        }
        NettyUdpPortForward[] holder = new NettyUdpPortForward[1];
        NettyUdpPortForward f = NettyUdpPortForward.start(this, runtime, group.next(), destination, listen,
                idleTimeout, () -> forwards.remove(holder[0]));
        holder[0] = f;
        forwards.add(f);
        return f;
    }

    @Override
    public void close() {
        closed = true;
        for (NettyUdpPortForward f : forwards.toArray(new NettyUdpPortForward[0])) {
            f.close();
        }
        for (NettyDatagramTunnel t : open) {
            t.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}

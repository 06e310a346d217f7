package io.streamproxy.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.streamproxy.internal.ProbeFailures;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.PortForward;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.spi.DurationText;
import io.streamproxy.spi.TcpClientTransport;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The {@code netty} transport's TCP client: tunnels on a small event loop group it owns, as blocking streams. */
final class NettyTcpClient implements TcpClientTransport {
    private final StreamClientOptions options;
    private final NettyRuntime runtime;
    private final NettyTunnels tunnels;
    private final EventLoopGroup group;
    private final Set<NettyTcpTunnel> open = ConcurrentHashMap.newKeySet();
    private final Set<NettyPortForward> forwards = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    NettyTcpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.runtime = NettyRuntime.from(options.transportOptions());
        this.tunnels = NettyTunnels.create(options);
        this.group = runtime.newGroup("stream-proxy-netty-client");
    }

    @Override
    public void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        tunnels.updateCredentials(credentials);
    }

    @Override
    public TcpTunnel open(Destination destination) throws IOException {
        return connect(destination, options.connectTimeout().plus(options.handshakeTimeout()));
    }

    private NettyTcpTunnel connect(Destination destination, Duration timeout) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        NettyTcpTunnel[] holder = new NettyTcpTunnel[1];
        NettyTcpTunnel tunnel = new NettyTcpTunnel(() -> open.remove(holder[0]));
        holder[0] = tunnel;
        Future<Channel> f = tunnels.open(group, runtime.socketChannel(), destination, tunnel.bridge);
        try {
            if (!f.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                f.cancel(false);
                throw new SocketTimeoutException("connect and TLS handshake took longer than "
                        + DurationText.of(timeout));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
        if (!f.isSuccess()) {
            Throwable c = f.cause();
            if (c instanceof IOException) {
                throw (IOException) c;
            }
            throw new IOException(String.valueOf(c.getMessage()), c);
        }
        tunnel.attach(f.getNow(), destination);
        open.add(tunnel);
        if (closed) {
            tunnel.close();
            throw new IOException("client is closed");
        }
        return tunnel;
    }

    /** Forwards on this client's event loops, channel to channel (see {@link NettyPortForward}). */
    @Override
    public PortForward forward(Destination destination, InetSocketAddress listen) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        NettyPortForward[] holder = new NettyPortForward[1];
        NettyPortForward f = NettyPortForward.start(tunnels, runtime, group, destination, listen,
                () -> forwards.remove(holder[0]));
        holder[0] = f;
        forwards.add(f);
        return f;
    }

    @Override
    public Duration probe(Duration timeout) throws HealthProbeException {
        long start = System.nanoTime();
        NettyTcpTunnel t = null;
        try {
            t = connect(null, timeout);
            long left = timeout.toMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (left <= 0) {
                throw new SocketTimeoutException("probe timeout " + DurationText.of(timeout) + " passed");
            }
            t.setReadTimeout(Duration.ofMillis(left));
            int b;
            try {
                b = t.input().read();
            } catch (IOException e) {
                throw TLS_FAILURES.classifyAnswer(e, timeout);
            }
            if (b >= 0) {
                throw new HealthProbeException(HealthProbeException.Failure.PROTOCOL_ERROR,
                        "server sent data in answer to a health probe instead of closing", null);
            }
            return Duration.ofNanos(System.nanoTime() - start);
        } catch (HealthProbeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw classify(e, timeout);
        } finally {
            if (t != null) {
                t.close();
            }
        }
    }

    private static final ProbeFailures TLS_FAILURES = new ProbeFailures("TLS",
            List.of(io.netty.handler.ssl.SslHandshakeTimeoutException.class,
                    io.netty.channel.ConnectTimeoutException.class), List.of());

    static HealthProbeException classify(Exception e, Duration timeout) {
        return TLS_FAILURES.classify(e, timeout);
    }

    @Override
    public void close() {
        closed = true;
        for (NettyPortForward f : forwards) {
            f.close();
        }
        for (NettyTcpTunnel t : open) {
            t.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}

package io.streamproxy.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.protocol.SessionEvents;
import java.io.Closeable;
import java.net.SocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared side of stream tunnels on Netty: the options (timeouts, limits, policy, listener), every channel of
 * every session, and the counters. A host's own Netty HTTPS server creates one, and for each connection that
 * negotiated {@code godoxy-agent-stream/1} adds {@link #newHandler()} behind its {@code SslHandler};
 * {@link #close()} ends every session. The transport's own TCP server uses it the same way. For half-close to be
 * relayed, the host's {@code SslContext} must use {@code SslProvider.JDK} and allow half-closure
 * ({@code ChannelOption.ALLOW_HALF_CLOSURE}): Netty's OpenSSL engine closes both directions when it receives
 * close_notify.
 */
public final class StreamTunnelService implements Closeable {
    final StreamServerOptions options;
    final SessionEvents events;
    final ChannelGroup channels = new DefaultChannelGroup("stream-tunnels", GlobalEventExecutor.INSTANCE);
    final AtomicInteger activeSessions = new AtomicInteger();
    final AtomicLong sessionIds = new AtomicLong();
    final ExecutorService resolver;
    private volatile boolean closed;

    private StreamTunnelService(StreamServerOptions options) {
        this.options = options;
        this.events = new SessionEvents(options.listener());
        this.resolver = new ThreadPoolExecutor(0, 4, 10, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "stream-proxy-netty-resolve");
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.AbortPolicy());
    }

    /**
     * Creates a service.
     *
     * @param options the timeouts, limits, policy and listener to apply (addresses and credentials are not used)
     * @return the service
     */
    public static StreamTunnelService create(StreamServerOptions options) {
        return new StreamTunnelService(options);
    }

    /**
     * Returns a handler for one connection, to add after the connection's {@code SslHandler} (before or after its
     * handshake). It checks that the stream ALPN id was negotiated, reads the header within the header timeout,
     * dials on the channel's event loop and relays with back-pressure and half-close.
     *
     * @return a new handler
     */
    public StreamTunnelHandler newHandler() {
        return new StreamTunnelHandler(this);
    }

    /** @return sessions being relayed now */
    public int activeSessions() {
        return activeSessions.get();
    }

    boolean isClosed() {
        return closed;
    }

    void track(Channel channel) {
        channels.add(channel);
        if (closed) {
            channel.close();
        }
    }

    void refused(SocketAddress client, RefusalReason reason, String detail) {
        events.refused(Protocol.TCP, client, reason, detail);
    }

    /** Ends every session and refuses new ones; idempotent. */
    @Override
    public void close() {
        closed = true;
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        resolver.shutdownNow();
        try {
            resolver.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

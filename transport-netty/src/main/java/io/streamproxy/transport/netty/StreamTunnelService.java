package io.streamproxy.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.streamproxy.Protocol;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.internal.Resolver;
import io.streamproxy.internal.SessionEvents;
import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.TunnelSession;
import java.io.Closeable;
import java.util.concurrent.TimeUnit;

/**
 * The shared side of stream tunnels on Netty: the session core (timeouts, limits, policy, listener), the resolver,
 * every channel of every session. A host's own Netty HTTPS server creates one, and for each connection that
 * negotiated {@code godoxy-agent-stream/1} adds {@link #newHandler()} behind its {@code SslHandler};
 * {@link #close()} ends every session. The transport's own TCP server uses it the same way. For half-close to be
 * relayed, the host's {@code SslContext} must use {@code SslProvider.JDK} and allow half-closure
 * ({@code ChannelOption.ALLOW_HALF_CLOSURE}): Netty's OpenSSL engine closes both directions when it receives
 * close_notify.
 */
public final class StreamTunnelService implements Closeable {
    final StreamServerOptions options;
    final SessionCore core;
    final ChannelGroup channels = new DefaultChannelGroup("stream-tunnels", GlobalEventExecutor.INSTANCE);
    final Resolver resolver;
    private volatile boolean closed;

    private StreamTunnelService(StreamServerOptions options) {
        this.options = options;
        this.core = new SessionCore(Protocol.TCP, options, SessionEvents.reporting(options.listener()));
        this.resolver = new Resolver("stream-proxy-netty-resolve");
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
        return new StreamTunnelHandler(this, null);
    }

    /** A handler for a connection the core admitted at accept. */
    StreamTunnelHandler newHandler(TunnelSession admitted) {
        return new StreamTunnelHandler(this, admitted);
    }

    /** @return sessions being relayed now */
    public int activeSessions() {
        return core.activeSessions();
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

    /** Ends every session and refuses new ones; idempotent. */
    @Override
    public void close() {
        closed = true;
        core.closing();
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        resolver.close();
    }
}

package io.streamproxy.transport.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.internal.HandshakeFailures;
import io.streamproxy.spi.FailureRunLog;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code netty} transport's TCP port forward: the local listener runs on the client's event loops, and every
 * accepted connection's tunnel is opened on that connection's own event loop, so that the two are relayed channel to
 * channel by {@link TcpRelay}, the relay the server runs: no thread hand-off, no copy, back-pressure both ways,
 * half-close passed on as FIN or close_notify, a failure as a reset. What a local connection sends while its tunnel
 * opens is held (at most 256 KiB, then reading pauses); one whose tunnel cannot open is reset. At most {@link #MAX_CONNECTIONS} are relayed at once.
 */
final class NettyPortForward implements PortForward {
    private static final Logger LOG = LoggerFactory.getLogger(NettyPortForward.class);
    static final int MAX_CONNECTIONS = 8192;
    private static final String EARLY = "stream-forward-early";

    /** Bytes of a local connection held while its tunnel opens before reading pauses. */
    private static final int HOLD = 256 * 1024;

    private final AcceptFailures acceptFailures = new AcceptFailures("TCP forward");
    private final NettyTunnels tunnels;
    private final Class<? extends SocketChannel> channelType;
    private final Destination destination;
    private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Channel listener;
    private final Runnable onClose;
    /** Failures in runs: a client that reconnects in a loop while the server is down logs a line, not thousands. */
    private final FailureRunLog failures;

    private NettyPortForward(NettyTunnels tunnels, NettyRuntime runtime, EventLoopGroup group,
                             Destination destination, InetSocketAddress listen, Runnable onClose) throws IOException {
        this.tunnels = tunnels;
        this.channelType = runtime.socketChannel();
        this.destination = destination;
        this.onClose = onClose;
        ServerBootstrap b = new ServerBootstrap().group(group).channel(runtime.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel local) {
                        accepted(local);
                    }
                });
        ChannelFuture bind = b.bind(listen);
        if (!bind.awaitUninterruptibly(10, TimeUnit.SECONDS) || !bind.isSuccess()) {
            bind.channel().close();
            Throwable cause = bind.cause();
            throw new IOException("cannot listen on " + listen + ": " + (cause != null ? cause.getMessage()
                    : "bind took longer than 10 s"), cause);
        }
        this.listener = bind.channel();
        listener.pipeline().addLast(acceptFailures); // after Netty's acceptor, which pauses on a failed accept
        this.failures = new FailureRunLog(LOG, "TCP forward " + listener.localAddress() + " -> " + destination,
                "connection");
    }

    static NettyPortForward start(NettyTunnels tunnels, NettyRuntime runtime, EventLoopGroup group,
                                  Destination destination, InetSocketAddress listen, Runnable onClose)
            throws IOException {
        return new NettyPortForward(tunnels, runtime, group, destination, listen, onClose);
    }

    @Override
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    @Override
    public Destination destination() {
        return destination;
    }

    private void accepted(SocketChannel local) {
        acceptFailures.accepted();
        if (open.size() >= 2 * MAX_CONNECTIONS) {
            reset(local);
            return;
        }
        open.add(local);
        // what the local client sends while its tunnel opens is held (up to HOLD bytes, then reading pauses); not
        // reading at all is no option: epoll reports a FIN that came with data as end of input, and the data is lost
        Early fromLocal = new Early();
        local.pipeline().addLast(EARLY, fromLocal);
        Early early = new Early();
        Future<Channel> f = tunnels.open(local.eventLoop(), channelType, destination, early);
        local.closeFuture().addListener(c -> f.cancel(false)); // a client that leaves while its tunnel opens
        f.addListener(done -> {
            if (!done.isSuccess()) {
                if (!done.isCancelled()) {
                    failures.failed(local.remoteAddress(), why(done.cause()), "", "", System.nanoTime());
                }
                early.release();
                fromLocal.release();
                reset(local);
                return;
            }
            Channel tunnel = f.getNow();
            open.add(tunnel);
            String label = "forward from " + local.remoteAddress();
            TcpRelay relay = new TcpRelay(new TcpRelay.Events() {
                @Override
                public void directionEnded(boolean towardDestination) {
                }

                @Override
                public void ended(String how, long toDestination, long fromDestination) {
                    LOG.debug("{} ended ({}): {} bytes sent, {} received", label, how, toDestination,
                            fromDestination);
                    if (fromDestination == 0 && !how.equals(TcpRelay.FAILED)) {
                        failures.succeeded(""); // a clean end of a tunnel that sent nothing: it worked too
                    }
                }

                @Override
                public void destinationResponded() {
                    failures.succeeded(""); // the server relays: a run of failures, if any, ended
                }

                @Override
                public String label() {
                    return label;
                }

                private boolean warned;

                @Override
                public void sideFailed(boolean clientSide, Throwable cause) {
                    // in TLS 1.3 the server refuses a client certificate after the client's handshake is done:
                    // its alert arrives here (Netty may report it twice), and the operator must learn of it once
                    String refused = clientSide || warned ? null : HandshakeFailures.refusedByServer(cause);
                    if (refused != null) {
                        warned = true;
                        failures.failed(local.remoteAddress(), "certificate refused: " + refused, "", "",
                                System.nanoTime());
                    } else if (!clientSide && !warned && cause instanceof javax.net.ssl.SSLException) {
                        warned = true;
                        failures.failed(local.remoteAddress(), "TLS failed: " + cause.getMessage(), "", "",
                                System.nanoTime());
                    } else {
                        TcpRelay.Events.super.sideFailed(clientSide, cause);
                    }
                }
            }, local, tunnel);
            local.pipeline().replace(fromLocal, TcpRelay.CLIENT_SIDE, relay.clientSide());
            tunnel.pipeline().replace(early, TcpRelay.DESTINATION_SIDE, relay.destinationSide());
            for (Object held : early.held) {
                relay.fromDestination((ByteBuf) held);
            }
            early.held.clear();
            for (Object held : fromLocal.held) {
                relay.fromClient((ByteBuf) held);
            }
            fromLocal.held.clear();
            relay.start();
            if (fromLocal.inputEnded) {
                relay.clientInputEnded();
            }
        });
    }

    private static void reset(Channel c) {
        if (c.isOpen()) {
            try {
                c.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException e) {
                // it closes plainly
            }
        }
        c.close();
    }

    /**
     * Holds what a side reads before the relay takes over: the tunnel between its header going out and the relay
     * (on the same loop), the local connection while its tunnel opens (a FIN that came with the data included).
     */
    private static final class Early extends ChannelInboundHandlerAdapter {
        final List<Object> held = new ArrayList<>();
        boolean inputEnded;
        private long heldBytes;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            held.add(msg);
            heldBytes += ((ByteBuf) msg).readableBytes();
            if (heldBytes >= HOLD) {
                ctx.channel().config().setAutoRead(false); // the relay resumes it
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
                inputEnded = true;
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        void release() {
            for (Object o : held) {
                ReferenceCountUtil.release(o);
            }
            held.clear();
        }
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        open.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
        onClose.run();
    }

    /** Why opening a tunnel failed, in words: the server's certificate alert explained, else the exception. */
    private static String why(Throwable cause) {
        String refused = HandshakeFailures.refusedByServer(cause);
        if (refused != null) {
            return "certificate refused: " + refused;
        }
        Throwable root = SocketFailures.reported(cause); // "Unable to create Channel": EMFILE says why
        return root == cause ? String.valueOf(cause) : cause.getMessage() + ": " + root;
    }
}

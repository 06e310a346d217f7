package io.streamproxy.transport.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.streamproxy.spi.FailureRunLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a listening channel: logs its failed accepts (out of file descriptors, EMFILE, most often) in
 * runs through {@link FailureRunLog}, one WARN when a run starts and one INFO when {@link #accepted()} ends it,
 * instead of Netty's WARN with a stack trace at the pipeline's tail for every attempt. Netty's acceptor, before it,
 * has already paused accepting for a second, so nothing spins.
 */
final class AcceptFailures extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(AcceptFailures.class);

    private final String listener;
    private volatile FailureRunLog failures;

    /**
     * @param listener names the listener, before its address ({@code "TCP stream server"})
     */
    AcceptFailures(String listener) {
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        failures = new FailureRunLog(LOG, listener + " on " + ctx.channel().localAddress(), "accept");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        FailureRunLog f = failures;
        if (f != null) {
            f.failed(null, cause.getMessage() != null ? cause.getMessage() : cause.toString(),
                    " (accepting again in 1s)", "", System.nanoTime());
        }
    }

    /** A connection was accepted: ends a run of failures, if there is one (a volatile read otherwise). */
    void accepted() {
        FailureRunLog f = failures;
        if (f != null) {
            f.succeeded("");
        }
    }
}

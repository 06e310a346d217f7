package io.streamproxy.transport.netty;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import javax.net.ssl.SSLException;

/**
 * Tells a client's TLS connection whose input ended without close_notify: a FIN with no close_notify before it. A
 * server (this project's, or the Go agent, whose {@code tls.Conn.Close} sends it) ends a tunnel with close_notify,
 * so a bare FIN means the server process died or something on the path cut the connection, and what came may be
 * truncated: a port forward resets its local client and a library tunnel's read fails, instead of a clean end of
 * stream that would make a cut-off download look complete. A server's side stays lenient (clients that close without
 * close_notify, as Python's {@code ssl} does without {@code unwrap}, end their input with a FIN), as Go's
 * crypto/tls is.
 */
final class TlsTruncation {
    private TlsTruncation() {
    }

    /**
     * Checks a channel whose input just ended (a FIN).
     *
     * @param c the channel
     * @return the failure to report when it is a client's TLS connection whose server sent no close_notify, else null
     */
    static SSLException ofEndedInput(Channel c) {
        SslHandler ssl = c.pipeline().get(SslHandler.class);
        if (ssl == null || !ssl.engine().getUseClientMode() || ssl.engine().isInboundDone()) {
            return null;
        }
        return new SSLException("the server's connection ended without close_notify: what came through it may be "
                + "cut short (the server process ended, or the path closed the connection)");
    }
}

package io.streamproxy.transport.jdk;

import io.streamproxy.StreamServerOptions;
import java.io.Closeable;
import javax.net.ssl.SSLSocket;

/**
 * Serves stream tunnels on TLS connections that a host accepted and handshook itself, for a host that multiplexes
 * its own HTTPS API and the stream protocol on one port by ALPN: when a connection negotiated
 * {@code godoxy-agent-stream/1}, hand it to {@link #serve(SSLSocket)}. The handler reads the header within the
 * header timeout, applies the policy, dials within the dial timeout and relays with half-close; it uses the
 * options' timeouts, limits, policy and listener (their addresses and credentials are not used). {@link #close()}
 * ends every session it serves.
 */
public final class TlsStreamHandler implements Closeable {
    private final TcpSessions sessions;

    private TlsStreamHandler(StreamServerOptions options) {
        this.sessions = new TcpSessions(options, "stream-proxy-jdk-handler");
    }

    /**
     * Creates a handler.
     *
     * @param options the timeouts, limits, policy and listener to apply
     * @return the handler
     */
    public static TlsStreamHandler create(StreamServerOptions options) {
        return new TlsStreamHandler(options);
    }

    /**
     * Serves one connection on the calling thread until its session ends, then closes it. A connection that did
     * not negotiate the stream ALPN id, or whose header is invalid or late, is refused and closed.
     *
     * @param socket a server-mode socket whose handshake has completed
     */
    public void serve(SSLSocket socket) {
        sessions.serveHandshaken(socket);
    }

    /**
     * Returns the number of sessions being relayed now.
     *
     * @return the count
     */
    public int activeSessions() {
        return sessions.activeSessions();
    }

    /** Ends every session and stops the handler's threads; idempotent. */
    @Override
    public void close() {
        sessions.close();
    }
}

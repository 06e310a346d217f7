package io.streamproxy;

import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.util.List;

/**
 * A protocol served beside the stream tunnels on a server's TLS port, chosen by ALPN: the HTTPS API of
 * {@code stream-proxy server}, or a GoDoxy agent API. Install it with {@link StreamServerOptions.Builder#route};
 * every TCP transport then advertises the route's ALPN ids after the stream's, and hands a connection that negotiated
 * one of them (or none, when {@link #servesNoAlpn()}) to {@link #open} once the mutual-TLS handshake has completed,
 * under the same handshake limit, deadline and close behaviour as a tunnel. The route sees plaintext bytes through
 * a transport-neutral {@link Channel}; calls to one {@link Connection} never overlap, so a route needs no locking of
 * its own. A connection that receives nothing for {@link #IDLE_TIMEOUT_SECONDS} is closed by the transport.
 */
public interface TlsRoute {
    /** The transport closes a route connection that receives nothing for this many seconds. */
    int IDLE_TIMEOUT_SECONDS = 60;

    /**
     * Returns the ALPN ids this route serves, in the server's order of preference (for example {@code http/1.1}).
     *
     * @return a non-empty list
     */
    List<String> protocols();

    /**
     * Tells whether clients that negotiate no ALPN id come here (an HTTP/1.1 client such as GoDoxy's sends none).
     *
     * @return false by default
     */
    default boolean servesNoAlpn() {
        return false;
    }

    /**
     * A connection negotiated this route: returns what receives its bytes. Called on a transport thread: return
     * quickly.
     *
     * @param channel the connection
     * @return the receiver of its bytes
     */
    Connection open(Channel channel);

    /** One route connection, as the transport offers it. Thread-safe. */
    interface Channel {
        /** @return the client's address */
        SocketAddress remoteAddress();

        /** @return the negotiated ALPN id, empty when none */
        String applicationProtocol();

        /** @return the client's verified certificate chain, its own certificate first */
        List<Certificate> peerCertificates();

        /**
         * Sends bytes to the client (copied before the call returns; sent in order).
         *
         * @param data the bytes, from position to limit
         */
        void write(ByteBuffer data);

        /** Sends what was written, then closes the connection; idempotent. */
        void close();
    }

    /** The receiving side of one route connection; its calls never overlap. */
    interface Connection {
        /**
         * Bytes from the client.
         *
         * @param data the bytes; only valid during the call
         */
        void received(ByteBuffer data);

        /** The client ended the connection, or it was closed: nothing more arrives. Called once. */
        void closed();
    }
}

package io.streamproxy;

import java.io.Closeable;
import java.net.InetSocketAddress;

/**
 * A local port forwarded through the stream server to one destination, as {@code stream-proxy forward} runs it:
 * for TCP every connection accepted on {@link #address()} gets its own tunnel, with half-close passed on each way
 * and a reset on either side relayed as a reset; for UDP every local source address gets its own DTLS session and
 * replies go back to it. The transport decides how it relays (Netty relays channel to channel on its event loops;
 * the default relays through the tunnel's streams). {@link #close()} stops listening and ends the tunnels it opened.
 */
public interface PortForward extends Closeable {

    /**
     * Returns the local address that is forwarded.
     *
     * @return the bound address (with the real port when port 0 was asked for)
     */
    InetSocketAddress address();

    /**
     * Returns where the server dials for every tunnel of this forward.
     *
     * @return the destination
     */
    Destination destination();

    /** Stops listening and closes every tunnel this forward opened; idempotent, bounded. */
    @Override
    void close();
}

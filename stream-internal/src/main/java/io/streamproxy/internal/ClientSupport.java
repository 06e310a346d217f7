package io.streamproxy.internal;

import io.streamproxy.DatagramTunnel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;

/** Small pieces every transport's client needs alike: resolving the server, and a UDP probe's wait for the end. Internal: not API. */
public final class ClientSupport {
    private ClientSupport() {
    }

    /**
     * Resolves the server address if it was given unresolved.
     *
     * @param server the address from the options
     * @return a resolved address
     * @throws UnknownHostException if the name does not resolve
     */
    public static InetSocketAddress resolve(InetSocketAddress server) throws UnknownHostException {
        if (!server.isUnresolved()) {
            return server;
        }
        InetSocketAddress resolved = new InetSocketAddress(server.getHostString(), server.getPort());
        if (resolved.isUnresolved()) {
            throw new UnknownHostException("cannot resolve server " + server.getHostString());
        }
        return resolved;
    }

    /**
     * Waits for the server to end a UDP tunnel after a probe header (the probe's success).
     *
     * @param tunnel        the probing tunnel
     * @param deadlineNanos the probe's deadline in {@link System#nanoTime()} terms
     * @return true if the server ended the session, false if it sent a datagram instead
     * @throws IOException if the tunnel failed or the deadline passed ({@link SocketTimeoutException})
     */
    public static boolean awaitClose(DatagramTunnel tunnel, long deadlineNanos) throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("probe deadline passed");
        }
        return tunnel.receive(ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM), Duration.ofNanos(left)) < 0;
    }
}

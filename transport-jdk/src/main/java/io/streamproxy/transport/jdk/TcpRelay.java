package io.streamproxy.transport.jdk;

import io.streamproxy.spi.RelayBuffer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays bytes between the client's TLS socket and the destination socket, one blocking pump per direction. End of
 * stream on one side is passed on as a half-close of the other ({@code shutdownOutput}), so each direction ends on
 * its own; both sockets are closed when both directions have ended. When either side fails (a reset, an error), both
 * are aborted: closed with SO_LINGER 0, so that the other peer sees a reset, never a clean end (no close_notify, no
 * FIN) that would make a truncated transfer look complete.
 */
final class TcpRelay {
    private static final Logger LOG = LoggerFactory.getLogger(TcpRelay.class);

    private final Socket client;
    private final Socket clientTransport;
    private final Socket destination;
    private final AtomicInteger directionsLeft = new AtomicInteger(2);
    private volatile long bytesToDestination;
    private volatile long bytesFromDestination;
    private volatile boolean failed;
    private final io.streamproxy.protocol.TunnelSession tunnel;

    /**
     * @param client          the client's TLS socket
     * @param clientTransport the TCP socket under it when closing the TLS socket does not close it, else null
     * @param destination     the destination socket
     * @param tunnel          the session, told when each direction ends
     */
    TcpRelay(Socket client, Socket clientTransport, Socket destination, io.streamproxy.protocol.TunnelSession tunnel) {
        this.tunnel = tunnel;
        this.client = client;
        this.clientTransport = clientTransport;
        this.destination = destination;
    }

    /**
     * Runs the relay: the client-to-destination pump on {@code executor}, the other on the calling thread; returns
     * when both have ended and both sockets are closed.
     */
    void run(Executor executor) {
        Object done = new Object();
        boolean[] upstreamDone = {false};
        try {
            executor.execute(() -> {
                try {
                    pumpToDestination();
                } finally {
                    synchronized (done) {
                        upstreamDone[0] = true;
                        done.notifyAll();
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            closeBoth();
            return;
        }
        pumpFromDestination();
        synchronized (done) {
            while (!upstreamDone[0]) {
                try {
                    done.wait();
                } catch (InterruptedException e) {
                    closeBoth();
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    long bytesToDestination() {
        return bytesToDestination;
    }

    long bytesFromDestination() {
        return bytesFromDestination;
    }

    boolean failed() {
        return failed;
    }

    private void pumpToDestination() {
        RelayBuffer buffer = new RelayBuffer(RelayBuffer.TLS_RECORD); // small while the tunnel is idle
        try {
            InputStream in = client.getInputStream();
            OutputStream out = destination.getOutputStream();
            int n;
            while ((n = in.read(buffer.array())) >= 0) {
                tunnel.touch(System.nanoTime());
                out.write(buffer.array(), 0, n);
                bytesToDestination += n;
                buffer.read(n);
            }
            tunnel.directionEnded(io.streamproxy.protocol.TunnelSession.Direction.TO_DESTINATION, System.nanoTime());
            destination.shutdownOutput();
            directionEnded();
        } catch (IOException e) {
            fail("client to destination", e);
        }
    }

    private void pumpFromDestination() {
        RelayBuffer buffer = new RelayBuffer(RelayBuffer.TCP); // small while the tunnel is idle
        try {
            InputStream in = destination.getInputStream();
            OutputStream out = client.getOutputStream();
            int n;
            while ((n = in.read(buffer.array())) >= 0) {
                tunnel.touch(System.nanoTime());
                out.write(buffer.array(), 0, n);
                bytesFromDestination += n;
                buffer.read(n);
            }
            tunnel.directionEnded(io.streamproxy.protocol.TunnelSession.Direction.FROM_DESTINATION, System.nanoTime());
            client.shutdownOutput();
            directionEnded();
        } catch (IOException e) {
            fail("destination to client", e);
        }
    }

    private void directionEnded() {
        if (directionsLeft.decrementAndGet() == 0) {
            closeBoth();
        }
    }

    private void fail(String direction, IOException e) {
        if (!failed && directionsLeft.get() > 0) {
            LOG.debug("relay {} ended: {}", direction, e.toString());
        }
        failed = true;
        directionsLeft.set(0);
        abortBoth();
    }

    /** Resets both connections: the client's TCP socket is reset under its TLS layer, so no close_notify goes. */
    void abortBoth() {
        Socket clientTcp = clientTransport != null ? clientTransport : client;
        reset(clientTcp);
        reset(destination);
        closeBoth();
    }

    /** Closes a socket with a reset (SO_LINGER 0); a TCP socket under TLS so sends no close_notify. */
    static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException | RuntimeException e) {
            // already closed
        }
        closeQuietly(s);
    }

    void closeBoth() {
        closeQuietly(client);
        if (clientTransport != null) {
            closeQuietly(clientTransport);
        }
        closeQuietly(destination);
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException | RuntimeException e) {
            // closing: nothing left to do
        }
    }
}

package io.streamproxy.cli;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.StreamClient;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local UDP port forwarding: every local source address gets its own tunnel session (its own DTLS session and its
 * own destination socket at the server); replies go back to that source. A flow idle for the idle timeout is closed.
 */
final class UdpForwarder implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(UdpForwarder.class);

    private final StreamClient client;
    private final Destination destination;
    private final DatagramChannel channel;
    private final Duration idle;
    private final Map<SocketAddress, DatagramTunnel> flows = new ConcurrentHashMap<>();
    private final ExecutorService threads = new ThreadPoolExecutor(0, 4096, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "stream-proxy-forward-udp");
                t.setDaemon(true);
                return t;
            });
    private volatile boolean closed;

    UdpForwarder(StreamClient client, Destination destination, InetSocketAddress listen, Duration idle)
            throws IOException {
        this.client = client;
        this.destination = destination;
        this.idle = idle;
        this.channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
            channel.bind(listen);
        } catch (IOException e) {
            channel.close();
            throw new CliException("cannot listen on UDP " + Values.text(listen) + ": " + e.getMessage(), e);
        }
        threads.execute(this::receiveLoop);
    }

    InetSocketAddress address() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    private void receiveLoop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(65536);
        while (!closed) {
            buf.clear();
            SocketAddress from;
            try {
                from = channel.receive(buf);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                continue;
            }
            buf.flip();
            DatagramTunnel t = flows.get(from);
            try {
                if (t == null) {
                    t = client.openUdp(destination.host(), destination.port());
                    flows.put(from, t);
                    DatagramTunnel flow = t;
                    SocketAddress source = from;
                    threads.execute(() -> replies(source, flow));
                }
                t.send(buf);
            } catch (IOException | RuntimeException e) {
                LOG.warn("UDP forward from {} failed: {}", from, e.getMessage());
                if (t != null) {
                    end(from, t);
                }
            }
        }
    }

    private void replies(SocketAddress source, DatagramTunnel t) {
        ByteBuffer buf = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
        try {
            while (!closed) {
                buf.clear();
                int n;
                try {
                    n = t.receive(buf, idle);
                } catch (SocketTimeoutException e) {
                    break; // idle
                }
                if (n < 0) {
                    break;
                }
                buf.flip();
                channel.send(buf, source);
            }
        } catch (IOException e) {
            LOG.debug("UDP flow from {} ended: {}", source, e.getMessage());
        }
        end(source, t);
    }

    private void end(SocketAddress source, DatagramTunnel t) {
        flows.remove(source, t);
        try {
            t.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
        for (Map.Entry<SocketAddress, DatagramTunnel> e : flows.entrySet()) {
            end(e.getKey(), e.getValue());
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

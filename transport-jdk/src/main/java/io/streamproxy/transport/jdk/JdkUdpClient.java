package io.streamproxy.transport.jdk;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.protocol.HeaderCodec;
import io.streamproxy.spi.ClientSupport;
import io.streamproxy.spi.UdpClientTransport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;

/** The JDK transport's UDP-over-DTLS client: a connected UDP socket per tunnel, DTLS on the JDK's engine. */
final class JdkUdpClient implements UdpClientTransport {
    private static final int SOCKET_BUFFER = 1 << 20;

    private final StreamClientOptions options;
    private final SSLContext dtls;
    private final Set<JdkDatagramTunnel> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    JdkUdpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        try {
            this.dtls = options.credentials().newSslContext("DTLSv1.2");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the DTLS context: " + e.getMessage(), e);
        }
    }

    @Override
    public DatagramTunnel open(Destination destination) throws IOException {
        byte[] header = HeaderCodec.encode(destination);
        JdkDatagramTunnel t = connect(System.nanoTime() + options.handshakeTimeout().toNanos(),
                options.handshakeTimeout());
        try {
            t.sendHeader(destination, header);
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    @Override
    public Duration probe(Duration timeout) throws HealthProbeException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        JdkDatagramTunnel t = null;
        try {
            t = connect(deadline, timeout);
            t.sendHeader(null, HeaderCodec.healthProbe());
            if (!ClientSupport.awaitClose(t, deadline)) {
                throw new HealthProbeException(HealthProbeException.Failure.PROTOCOL_ERROR,
                        "server sent a datagram in answer to a health probe instead of closing", null);
            }
            return Duration.ofNanos(System.nanoTime() - start);
        } catch (HealthProbeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw JdkTcpClient.classify(e, timeout);
        } finally {
            if (t != null) {
                t.close();
            }
        }
    }

    private JdkDatagramTunnel connect(long deadline, Duration timeout) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        InetSocketAddress server = ClientSupport.resolve(options.server());
        DatagramChannel channel = DatagramChannel.open();
        JdkDatagramTunnel[] holder = new JdkDatagramTunnel[1];
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
            channel.connect(server);
            JdkDatagramTunnel t = new JdkDatagramTunnel(channel,
                    io.streamproxy.protocol.dtls.DtlsEngines.client(dtls, options.serverName(), server.getPort()), options.dtlsMtu(),
                    () -> open.remove(holder[0]));
            holder[0] = t;
            open.add(t);
            if (closed) {
                throw new IOException("client is closed");
            }
            t.handshake(deadline, timeout);
            return t;
        } catch (IOException | RuntimeException e) {
            if (holder[0] != null) {
                holder[0].close();
            } else {
                channel.close();
            }
            throw e;
        }
    }

    @Override
    public void close() {
        closed = true;
        for (JdkDatagramTunnel t : open) {
            t.close();
        }
    }
}

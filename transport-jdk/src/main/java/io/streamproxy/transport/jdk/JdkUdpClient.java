package io.streamproxy.transport.jdk;

import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.internal.ClientSupport;
import io.streamproxy.internal.ProbeFailures;
import io.streamproxy.internal.UdpClientTemplate;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;

/** The JDK transport's UDP-over-DTLS client: a connected UDP socket per tunnel, DTLS on the JDK's engine. */
final class JdkUdpClient extends UdpClientTemplate {
    private static final int SOCKET_BUFFER = 1 << 20;

    private final StreamClientOptions options;
    private volatile SSLContext dtls;
    private final Set<JdkDatagramTunnel> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    JdkUdpClient(StreamClientOptions options) throws IOException {
        this.options = options;
        this.dtls = jdkDtlsContext(options.credentials());
    }

    @Override
    public void updateCredentials(io.streamproxy.TlsCredentials credentials) throws IOException {
        dtls = jdkDtlsContext(credentials);
    }



    @Override
    protected Duration handshakeTimeout() {
        return options.handshakeTimeout();
    }

    private static final ProbeFailures DTLS_FAILURES = new ProbeFailures("DTLS", List.of(), List.of());

    @Override
    protected HealthProbeException classify(Exception failure, Duration timeout) {
        return DTLS_FAILURES.classify(failure, timeout);
    }

    @Override
    protected JdkDatagramTunnel connect(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
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

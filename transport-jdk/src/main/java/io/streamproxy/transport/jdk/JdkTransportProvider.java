package io.streamproxy.transport.jdk;

import io.streamproxy.Protocol;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.spi.ServerEndpoint;
import io.streamproxy.spi.TcpClientTransport;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.UdpClientTransport;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Set;

/**
 * The {@code jdk} transport: TCP over TLS on the JDK's {@code SSLSocket} (blocking, two threads per relayed
 * session) and UDP over DTLS 1.2 on the JDK's DTLS {@code SSLEngine} (one selector thread for all sessions), with
 * nothing beyond the JDK and the SLF4J API. Found by {@link java.util.ServiceLoader}.
 */
public final class JdkTransportProvider implements TransportProvider {
    /** The transport's name. */
    public static final String NAME = "jdk";

    /** Creates the provider (cheap; nothing starts until a server or client is made). */
    public JdkTransportProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Set<Protocol> protocols() {
        return EnumSet.of(Protocol.TCP, Protocol.UDP);
    }

    @Override
    public ServerEndpoint startTcpServer(StreamServerOptions options) throws IOException {
        return new JdkTcpServer(options);
    }

    @Override
    public ServerEndpoint startUdpServer(StreamServerOptions options) throws IOException {
        return new JdkUdpServer(options);
    }

    @Override
    public UdpClientTransport newUdpClient(StreamClientOptions options) throws IOException {
        return new JdkUdpClient(options);
    }

    @Override
    public TcpClientTransport newTcpClient(StreamClientOptions options) throws IOException {
        return new JdkTcpClient(options);
    }
}

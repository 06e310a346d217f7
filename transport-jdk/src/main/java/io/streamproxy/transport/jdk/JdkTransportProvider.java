package io.streamproxy.transport.jdk;

import io.streamproxy.Protocol;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.spi.ServerEndpoint;
import io.streamproxy.spi.TcpClientTransport;
import io.streamproxy.spi.TransportProvider;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Set;

/**
 * The {@code jdk} transport: TCP over TLS on the JDK's {@code SSLSocket}, with nothing beyond the JDK and the SLF4J
 * API. Blocking I/O, two threads per relayed session. Found by {@link java.util.ServiceLoader}.
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
        return EnumSet.of(Protocol.TCP);
    }

    @Override
    public ServerEndpoint startTcpServer(StreamServerOptions options) throws IOException {
        return new JdkTcpServer(options);
    }

    @Override
    public TcpClientTransport newTcpClient(StreamClientOptions options) throws IOException {
        return new JdkTcpClient(options);
    }
}

package com.example.streamproxy.nio;

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
 * A sample third-party transport: TCP over TLS on blocking NIO {@link java.nio.channels.SocketChannel}s with the
 * JDK's {@link javax.net.ssl.SSLEngine}, written against the published API, SPI and session core only. Its server
 * drives one {@link io.streamproxy.protocol.TunnelSession} per connection and carries out its steps; its client
 * opens tunnels and runs health probes. It offers TCP only, so UDP methods keep the SPI's default (unsupported).
 * Registered in {@code META-INF/services/io.streamproxy.spi.TransportProvider} under the name {@value #NAME}.
 */
public final class NioSampleTransportProvider implements TransportProvider {
    /** The transport's name. */
    public static final String NAME = "nio-sample";

    private final Set<Defect> defects;

    /** Creates the provider; nothing starts until a server or client is made. */
    public NioSampleTransportProvider() {
        this(EnumSet.noneOf(Defect.class));
    }

    /** A deliberately broken variant, for the kit's own test. */
    NioSampleTransportProvider(Set<Defect> defects) {
        this.defects = defects.isEmpty() ? EnumSet.noneOf(Defect.class) : EnumSet.copyOf(defects);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 1;
    }

    @Override
    public Set<Protocol> protocols() {
        return EnumSet.of(Protocol.TCP);
    }

    @Override
    public ServerEndpoint startTcpServer(StreamServerOptions options) throws IOException {
        return new NioTcpServer(options, defects);
    }

    @Override
    public TcpClientTransport newTcpClient(StreamClientOptions options) throws IOException {
        return new NioTcpClient(options);
    }
}

package io.streamproxy.transport.netty;

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
 * The {@code netty} transport, for scale: TCP over TLS and UDP over DTLS on Netty event loops, epoll and OpenSSL
 * when they load. It ranks above {@code jdk}. Found by {@link java.util.ServiceLoader}.
 */
public final class NettyTransportProvider implements TransportProvider {
    /** The transport's name. */
    public static final String NAME = "netty";

    /** Creates the provider (cheap; Netty starts nothing until a server or client is made). */
    public NettyTransportProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 20;
    }

    @Override
    public Set<Protocol> protocols() {
        return EnumSet.of(Protocol.TCP, Protocol.UDP);
    }

    @Override
    public ServerEndpoint startTcpServer(StreamServerOptions options) throws IOException {
        return new NettyTcpServer(options);
    }

    @Override
    public ServerEndpoint startUdpServer(StreamServerOptions options) throws IOException {
        return new NettyUdpServer(options);
    }

    @Override
    public UdpClientTransport newUdpClient(StreamClientOptions options) throws IOException {
        return new NettyUdpClient(options);
    }

    @Override
    public TcpClientTransport newTcpClient(StreamClientOptions options) throws IOException {
        return new NettyTcpClient(options);
    }
}

package io.streamproxy.transport.bc;

import io.streamproxy.Protocol;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.spi.ServerEndpoint;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.UdpClientTransport;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Set;

/**
 * The {@code bc} transport: UDP over DTLS 1.2 on Bouncy Castle's DTLS protocol classes (bctls), for users who want
 * Bouncy Castle's crypto and retransmission handling. It offers UDP only; ask the registry for TCP and it names the
 * transports that offer it. Found by {@link java.util.ServiceLoader}.
 */
public final class BcTransportProvider implements TransportProvider {
    /** The transport's name. */
    public static final String NAME = "bc";

    /** Creates the provider (cheap). */
    public BcTransportProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public Set<Protocol> protocols() {
        return EnumSet.of(Protocol.UDP);
    }

    @Override
    public ServerEndpoint startUdpServer(StreamServerOptions options) throws IOException {
        return new BcUdpServer(options);
    }

    @Override
    public UdpClientTransport newUdpClient(StreamClientOptions options) throws IOException {
        return new BcUdpClient(options);
    }
}

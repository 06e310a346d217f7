package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRelayKit;
import org.junit.jupiter.api.extension.ExtendWith;

/** On the default TLS, OpenSSL (checked to load here). */
@ExtendWith(OpenSslConfig.class)
class NettyTcpRelayTest extends TcpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpResourceKit;
import org.junit.jupiter.api.extension.ExtendWith;

/** On the default TLS, OpenSSL (checked to load here). */
@ExtendWith(OpenSslConfig.class)
class NettyTcpResourceTest extends TcpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

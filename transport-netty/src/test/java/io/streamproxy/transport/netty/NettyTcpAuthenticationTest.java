package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpAuthenticationKit;
import org.junit.jupiter.api.extension.ExtendWith;

/** On the default TLS, OpenSSL (checked to load here). */
@ExtendWith(OpenSslConfig.class)
class NettyTcpAuthenticationTest extends TcpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

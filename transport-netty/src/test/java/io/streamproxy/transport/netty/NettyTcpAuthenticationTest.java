package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpAuthenticationKit;

class NettyTcpAuthenticationTest extends TcpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

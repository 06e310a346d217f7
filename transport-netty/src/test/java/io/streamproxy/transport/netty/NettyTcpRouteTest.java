package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRouteKit;

class NettyTcpRouteTest extends TcpRouteKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

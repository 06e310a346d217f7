package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpResourceKit;

class NettyTcpResourceTest extends TcpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

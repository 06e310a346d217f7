package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpOutsidePeersKit;

class NettyTcpOutsidePeersTest extends TcpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

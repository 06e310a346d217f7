package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRelayKit;

class NettyTcpRelayTest extends TcpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpResourceKit;

class NettyUdpResourceTest extends UdpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

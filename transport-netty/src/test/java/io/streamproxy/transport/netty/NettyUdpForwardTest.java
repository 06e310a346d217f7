package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpForwardKit;

class NettyUdpForwardTest extends UdpForwardKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

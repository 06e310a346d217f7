package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpOutsidePeersKit;

class NettyUdpOutsidePeersTest extends UdpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

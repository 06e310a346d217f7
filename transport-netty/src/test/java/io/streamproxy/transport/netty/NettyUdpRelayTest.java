package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpRelayKit;

class NettyUdpRelayTest extends UdpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpTimeoutKit;

class NettyUdpTimeoutTest extends UdpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

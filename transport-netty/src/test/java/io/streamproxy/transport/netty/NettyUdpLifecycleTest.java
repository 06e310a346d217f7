package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpLifecycleKit;

class NettyUdpLifecycleTest extends UdpLifecycleKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpAuthenticationKit;

class NettyUdpAuthenticationTest extends UdpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

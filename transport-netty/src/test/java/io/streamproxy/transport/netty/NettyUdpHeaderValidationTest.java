package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpHeaderValidationKit;

class NettyUdpHeaderValidationTest extends UdpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

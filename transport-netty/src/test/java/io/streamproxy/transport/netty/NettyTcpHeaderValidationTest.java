package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHeaderValidationKit;

class NettyTcpHeaderValidationTest extends TcpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

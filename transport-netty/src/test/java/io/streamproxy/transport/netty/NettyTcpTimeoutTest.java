package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpTimeoutKit;

class NettyTcpTimeoutTest extends TcpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

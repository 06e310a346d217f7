package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpLifecycleKit;

class NettyTcpLifecycleTest extends TcpLifecycleKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }
}

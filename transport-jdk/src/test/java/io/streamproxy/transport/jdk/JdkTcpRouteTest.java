package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRouteKit;

class JdkTcpRouteTest extends TcpRouteKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpResourceKit;

class JdkTcpResourceTest extends TcpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

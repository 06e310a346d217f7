package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpOutsidePeersKit;

class JdkTcpOutsidePeersTest extends TcpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRelayKit;

class JdkTcpRelayTest extends TcpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

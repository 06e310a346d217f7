package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpAuthenticationKit;

class JdkTcpAuthenticationTest extends TcpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

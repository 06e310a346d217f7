package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpTimeoutKit;

class JdkTcpTimeoutTest extends TcpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

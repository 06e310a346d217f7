package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpLifecycleKit;

class JdkTcpLifecycleTest extends TcpLifecycleKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

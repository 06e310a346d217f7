package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpLifecycleKit;

class JdkUdpLifecycleTest extends UdpLifecycleKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

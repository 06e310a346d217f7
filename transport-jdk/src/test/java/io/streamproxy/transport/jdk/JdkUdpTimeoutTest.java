package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpTimeoutKit;

class JdkUdpTimeoutTest extends UdpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpForwardKit;

class JdkUdpForwardTest extends UdpForwardKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

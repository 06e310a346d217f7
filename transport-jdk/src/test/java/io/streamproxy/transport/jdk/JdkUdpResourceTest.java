package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpResourceKit;

class JdkUdpResourceTest extends UdpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpAuthenticationKit;

class JdkUdpAuthenticationTest extends UdpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

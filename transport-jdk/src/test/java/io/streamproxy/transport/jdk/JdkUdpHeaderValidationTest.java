package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpHeaderValidationKit;

class JdkUdpHeaderValidationTest extends UdpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

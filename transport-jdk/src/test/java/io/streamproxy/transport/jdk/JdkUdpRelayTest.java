package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpRelayKit;

class JdkUdpRelayTest extends UdpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

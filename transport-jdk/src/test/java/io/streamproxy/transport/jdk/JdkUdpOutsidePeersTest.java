package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpOutsidePeersKit;

class JdkUdpOutsidePeersTest extends UdpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

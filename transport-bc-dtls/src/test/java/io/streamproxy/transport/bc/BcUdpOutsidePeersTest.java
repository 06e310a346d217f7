package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpOutsidePeersKit;

class BcUdpOutsidePeersTest extends UdpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

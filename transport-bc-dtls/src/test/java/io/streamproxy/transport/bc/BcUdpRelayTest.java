package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpRelayKit;

class BcUdpRelayTest extends UdpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

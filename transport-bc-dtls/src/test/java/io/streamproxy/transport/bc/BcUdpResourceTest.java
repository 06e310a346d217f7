package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpResourceKit;

class BcUdpResourceTest extends UdpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpForwardKit;

class BcUdpForwardTest extends UdpForwardKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

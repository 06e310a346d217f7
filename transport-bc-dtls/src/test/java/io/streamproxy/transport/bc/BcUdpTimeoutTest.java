package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpTimeoutKit;

class BcUdpTimeoutTest extends UdpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

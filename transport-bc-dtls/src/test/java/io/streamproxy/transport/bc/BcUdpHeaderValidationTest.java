package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpHeaderValidationKit;

class BcUdpHeaderValidationTest extends UdpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

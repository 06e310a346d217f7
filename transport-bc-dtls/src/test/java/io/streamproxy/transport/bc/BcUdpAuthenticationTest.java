package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpAuthenticationKit;

class BcUdpAuthenticationTest extends UdpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

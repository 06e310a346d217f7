package io.streamproxy.transport.bc;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.UdpLifecycleKit;

class BcUdpLifecycleTest extends UdpLifecycleKit {
    @Override
    protected TransportProvider provider() {
        return new BcTransportProvider();
    }
}

package io.streamproxy.transport.bc;

import io.streamproxy.testkit.UdpTransportConformanceKit;

class BcUdpConformanceTest extends UdpTransportConformanceKit {
    @Override
    protected String transport() {
        return BcTransportProvider.NAME;
    }
}

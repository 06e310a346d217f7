package io.streamproxy.transport.jdk;

import io.streamproxy.testkit.UdpTransportConformanceKit;

class JdkUdpConformanceTest extends UdpTransportConformanceKit {
    @Override
    protected String transport() {
        return JdkTransportProvider.NAME;
    }
}

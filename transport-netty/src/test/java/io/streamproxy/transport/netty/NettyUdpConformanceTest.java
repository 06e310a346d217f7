package io.streamproxy.transport.netty;

import io.streamproxy.testkit.UdpTransportConformanceKit;

class NettyUdpConformanceTest extends UdpTransportConformanceKit {
    @Override
    protected String transport() {
        return NettyTransportProvider.NAME;
    }
}

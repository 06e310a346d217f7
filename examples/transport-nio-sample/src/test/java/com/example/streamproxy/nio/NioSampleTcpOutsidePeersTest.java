package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpOutsidePeersKit;

class NioSampleTcpOutsidePeersTest extends TcpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRelayKit;

class NioSampleTcpRelayTest extends TcpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

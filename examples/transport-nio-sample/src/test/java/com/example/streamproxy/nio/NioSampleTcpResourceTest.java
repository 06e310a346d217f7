package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpResourceKit;

class NioSampleTcpResourceTest extends TcpResourceKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

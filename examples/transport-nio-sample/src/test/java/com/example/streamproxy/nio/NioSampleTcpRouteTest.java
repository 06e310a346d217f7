package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRouteKit;

class NioSampleTcpRouteTest extends TcpRouteKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

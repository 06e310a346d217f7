package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpAuthenticationKit;

class NioSampleTcpAuthenticationTest extends TcpAuthenticationKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

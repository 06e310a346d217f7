package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHeaderValidationKit;

class NioSampleTcpHeaderValidationTest extends TcpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

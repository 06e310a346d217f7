package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpTimeoutKit;

class NioSampleTcpTimeoutTest extends TcpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }
}

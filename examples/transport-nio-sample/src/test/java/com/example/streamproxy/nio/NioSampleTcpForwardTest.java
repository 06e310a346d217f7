package com.example.streamproxy.nio;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpForwardKit;

class NioSampleTcpForwardTest extends TcpForwardKit {
    @Override
    protected TransportProvider provider() {
        return new NioSampleTransportProvider();
    }

    /** The JDK's SSLEngine answers a TLS 1.2 close_notify with its own and closes both ways (TLS 1.2 has no half-close). */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

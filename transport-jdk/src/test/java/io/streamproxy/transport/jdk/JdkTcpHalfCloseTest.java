package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHalfCloseKit;

class JdkTcpHalfCloseTest extends TcpHalfCloseKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }

    /** The JDK answers a TLS 1.2 close_notify with its own and closes both ways (JSSE's duplex close). */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

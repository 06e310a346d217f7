package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpForwardKit;

class JdkTcpForwardTest extends TcpForwardKit {
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

package io.streamproxy.transport.jdk;

import io.streamproxy.testkit.TcpTransportConformanceKit;

class JdkTcpConformanceTest extends TcpTransportConformanceKit {
    @Override
    protected String transport() {
        return JdkTransportProvider.NAME;
    }

    /** The JDK answers a TLS 1.2 close_notify with its own and closes both ways (JSSE's duplex close). */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

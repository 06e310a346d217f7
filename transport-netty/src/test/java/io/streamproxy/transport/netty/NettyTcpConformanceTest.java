package io.streamproxy.transport.netty;

import io.streamproxy.testkit.TcpTransportConformanceKit;

class NettyTcpConformanceTest extends TcpTransportConformanceKit {
    @Override
    protected String transport() {
        return NettyTransportProvider.NAME;
    }

    /** The JDK engine under Netty answers a TLS 1.2 close_notify with its own, closing both ways (RFC 5246). */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

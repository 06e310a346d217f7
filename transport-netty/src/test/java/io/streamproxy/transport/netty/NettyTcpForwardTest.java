package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpForwardKit;

class NettyTcpForwardTest extends TcpForwardKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    /** The JDK engine under Netty answers a TLS 1.2 close_notify with its own, closing both ways (RFC 5246). */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHalfCloseKit;
import java.util.Map;

/** The {@link TcpHalfCloseKit} with {@code netty.ssl=jdk}: the JDK's TLS engine under Netty. */
class NettyJdkTlsTcpHalfCloseTest extends TcpHalfCloseKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Map<String, String> transportOptions() {
        return Map.of("netty.ssl", "jdk");
    }

    /** The JDK engine under Netty answers a TLS 1.2 close_notify with its own, closing both ways (RFC 5246). */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

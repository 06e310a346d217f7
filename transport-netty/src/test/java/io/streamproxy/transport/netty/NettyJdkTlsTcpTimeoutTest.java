package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpTimeoutKit;
import java.util.Map;

/** The {@link TcpTimeoutKit} with {@code netty.ssl=jdk}: the JDK's TLS engine under Netty. */
class NettyJdkTlsTcpTimeoutTest extends TcpTimeoutKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Map<String, String> transportOptions() {
        return Map.of("netty.ssl", "jdk");
    }
}

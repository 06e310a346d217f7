package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpOutsidePeersKit;
import java.util.Map;

/** The {@link TcpOutsidePeersKit} with {@code netty.ssl=jdk}: the JDK's TLS engine under Netty. */
class NettyJdkTlsTcpOutsidePeersTest extends TcpOutsidePeersKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Map<String, String> transportOptions() {
        return Map.of("netty.ssl", "jdk");
    }
}

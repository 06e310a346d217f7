package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpLifecycleKit;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** The {@link TcpLifecycleKit} with {@code netty.ssl=openssl}. */
@ExtendWith(OpenSslConfig.class)
class NettyOpenSslTcpLifecycleTest extends TcpLifecycleKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Map<String, String> transportOptions() {
        return OpenSslConfig.OPTIONS;
    }
}

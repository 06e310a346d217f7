package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHeaderValidationKit;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** The {@link TcpHeaderValidationKit} with {@code netty.ssl=openssl}. */
@ExtendWith(OpenSslConfig.class)
class NettyOpenSslTcpHeaderValidationTest extends TcpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Map<String, String> transportOptions() {
        return OpenSslConfig.OPTIONS;
    }
}

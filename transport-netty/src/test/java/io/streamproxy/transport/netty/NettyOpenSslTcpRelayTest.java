package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpRelayKit;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** The {@link TcpRelayKit} with {@code netty.ssl=openssl}. */
@ExtendWith(OpenSslConfig.class)
class NettyOpenSslTcpRelayTest extends TcpRelayKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Map<String, String> transportOptions() {
        return OpenSslConfig.OPTIONS;
    }

    /** Netty's OpenSSL engine closes both directions when it receives close_notify (netty/netty#6167). */
    @Override
    protected boolean sendsAfterPeerCloseNotify() {
        return false;
    }
}

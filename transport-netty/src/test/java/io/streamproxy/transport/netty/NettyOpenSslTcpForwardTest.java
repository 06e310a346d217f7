package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpForwardKit;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;

/** The {@link TcpForwardKit} with {@code netty.ssl=openssl}. */
@ExtendWith(OpenSslConfig.class)
class NettyOpenSslTcpForwardTest extends TcpForwardKit {
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

    /** OpenSSL under Netty closes both ways on a TLS 1.2 close_notify too. */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

package io.streamproxy.transport.netty;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHalfCloseKit;
import org.junit.jupiter.api.extension.ExtendWith;

/** On the default TLS, OpenSSL (checked to load here). */
@ExtendWith(OpenSslConfig.class)
class NettyTcpHalfCloseTest extends TcpHalfCloseKit {
    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    /**
     * The server keeps sending after a TLS 1.2 close_notify too; what stops this case is the kit's JDK client,
     * which closes its own output when it reads the server's TLS 1.2 close_notify (RFC 5246).
     */
    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

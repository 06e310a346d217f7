package io.streamproxy.transport.netty;

import io.netty.handler.ssl.OpenSsl;
import io.streamproxy.testkit.TcpTransportConformanceKit;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * The TCP kit with {@code netty.ssl=openssl}. Netty's OpenSSL engine closes both directions when it receives
 * close_notify (netty/netty#6167), so the kit's cases that need the receiver of a close_notify to keep sending are
 * declared unsupported here; everything else must pass.
 */
class NettyOpenSslTcpConformanceTest extends TcpTransportConformanceKit {
    @BeforeAll
    static void openSslLoads() {
        if (!OpenSsl.isAvailable()) {
            throw new AssertionError("netty-tcnative did not load here: " + OpenSsl.unavailabilityCause());
        }
    }

    @Override
    protected String transport() {
        return NettyTransportProvider.NAME;
    }

    @Override
    protected Map<String, String> transportOptions() {
        return Map.of("netty.ssl", "openssl");
    }

    @Override
    protected boolean sendsAfterPeerCloseNotify() {
        return false;
    }

    @Override
    protected boolean halfCloseOnTls12() {
        return false;
    }
}

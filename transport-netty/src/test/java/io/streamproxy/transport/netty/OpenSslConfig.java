package io.streamproxy.transport.netty;

import io.netty.handler.ssl.OpenSsl;
import java.util.Map;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The netty transport's OpenSSL configuration, shared by the {@code NettyOpenSsl*Test} kit subclasses: their
 * transport options, and, as an extension, a check that fails the class at once when netty-tcnative does not load
 * here, so that the OpenSSL configuration never runs on the JDK's TLS unnoticed. Netty's OpenSSL engine closes both
 * directions when it receives close_notify (netty/netty#6167), so those subclasses declare the cases that need the
 * receiver of a close_notify to keep sending unsupported; everything else must pass.
 */
final class OpenSslConfig implements BeforeAllCallback {
    /** The transport options that select OpenSSL. */
    static final Map<String, String> OPTIONS = Map.of("netty.ssl", "openssl");

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!OpenSsl.isAvailable()) {
            throw new AssertionError("netty-tcnative did not load here: " + OpenSsl.unavailabilityCause());
        }
    }
}

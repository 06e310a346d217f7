package io.streamproxy.transport.netty;

import io.netty.handler.ssl.OpenSsl;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A check, as an extension on the default-configuration {@code NettyTcp*Test} kit subclasses, that fails the class at
 * once when netty-tcnative does not load here, so that the default (OpenSSL when it loads) never runs on the JDK's
 * TLS unnoticed. The {@code NettyJdkTls*Test} subclasses cover the JDK engine under Netty.
 */
final class OpenSslConfig implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
        if (!OpenSsl.isAvailable()) {
            throw new AssertionError("netty-tcnative did not load here: " + OpenSsl.unavailabilityCause());
        }
    }
}

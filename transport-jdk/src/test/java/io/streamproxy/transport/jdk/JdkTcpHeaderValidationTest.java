package io.streamproxy.transport.jdk;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpHeaderValidationKit;

class JdkTcpHeaderValidationTest extends TcpHeaderValidationKit {
    @Override
    protected TransportProvider provider() {
        return new JdkTransportProvider();
    }
}

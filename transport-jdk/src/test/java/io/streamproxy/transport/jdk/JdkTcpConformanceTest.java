package io.streamproxy.transport.jdk;

import io.streamproxy.testkit.TcpTransportConformanceKit;

class JdkTcpConformanceTest extends TcpTransportConformanceKit {
    @Override
    protected String transport() {
        return JdkTransportProvider.NAME;
    }
}

package io.streamproxy.transport.jdk;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/** DTLS 1.2 engines as both ends of a UDP tunnel use them: mutual authentication, no ALPN required. */
final class DtlsEngines {
    private DtlsEngines() {
    }

    static SSLEngine server(SSLContext context) {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[] {"DTLSv1.2"});
        p.setNeedClientAuth(true);
        engine.setSSLParameters(p);
        return engine;
    }

    static SSLEngine client(SSLContext context, String serverName, int peerPort) {
        SSLEngine engine = context.createSSLEngine(serverName, peerPort);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[] {"DTLSv1.2"});
        p.setEndpointIdentificationAlgorithm("HTTPS");
        TlsParameters.setServerName(p, serverName);
        engine.setSSLParameters(p);
        return engine;
    }
}

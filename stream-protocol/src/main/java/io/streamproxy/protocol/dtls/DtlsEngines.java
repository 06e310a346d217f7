package io.streamproxy.protocol.dtls;

import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * DTLS 1.2 engines as both ends of a UDP tunnel configure them on the JDK: the server requires a client
 * certificate; the client verifies the server name (endpoint identification {@code HTTPS}, SNI for DNS names). No
 * ALPN is needed on DTLS.
 */
public final class DtlsEngines {
    private DtlsEngines() {
    }

    /**
     * Creates a server engine.
     *
     * @param context a {@code DTLSv1.2} context with the server's key and the client CA as trust
     * @return the engine, before its handshake
     */
    public static SSLEngine server(SSLContext context) {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[] {"DTLSv1.2"});
        p.setNeedClientAuth(true);
        engine.setSSLParameters(p);
        return engine;
    }

    /**
     * Creates a client engine.
     *
     * @param context    a {@code DTLSv1.2} context with the client's key and the server CA as trust
     * @param serverName the name the server certificate must carry
     * @param port       the server's port
     * @return the engine, before its handshake
     */
    public static SSLEngine client(SSLContext context, String serverName, int port) {
        SSLEngine engine = context.createSSLEngine(serverName, port);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[] {"DTLSv1.2"});
        p.setEndpointIdentificationAlgorithm("HTTPS");
        if (isDnsName(serverName)) {
            p.setServerNames(List.of(new SNIHostName(serverName)));
        }
        engine.setSSLParameters(p);
        return engine;
    }

    private static boolean isDnsName(String name) {
        if (name.indexOf(':') >= 0) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= '0' && c <= '9') && c != '.') {
                return true;
            }
        }
        return false;
    }
}

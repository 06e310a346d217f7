package io.streamproxy.transport.jdk;

import io.streamproxy.protocol.StreamProtocol;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** The TLS settings both ends of a stream tunnel use on the JDK: TLS 1.2+, the stream ALPN id, mutual auth. */
final class TlsParameters {
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private TlsParameters() {
    }

    static void configureServer(SSLSocket socket, List<String> alpn) {
        SSLParameters p = socket.getSSLParameters();
        p.setProtocols(PROTOCOLS);
        p.setNeedClientAuth(true);
        p.setApplicationProtocols(alpn.toArray(new String[0]));
        socket.setSSLParameters(p);
        socket.setUseClientMode(false);
    }

    static void configureClient(SSLSocket socket, String serverName) {
        SSLParameters p = socket.getSSLParameters();
        p.setProtocols(PROTOCOLS);
        p.setApplicationProtocols(new String[] {StreamProtocol.ALPN});
        p.setEndpointIdentificationAlgorithm("HTTPS");
        setServerName(p, serverName);
        socket.setSSLParameters(p);
        socket.setUseClientMode(true);
    }

    /** Sends the server name as SNI when it is a DNS name (SNI cannot carry an IP literal). */
    static void setServerName(SSLParameters p, String serverName) {
        if (isDnsName(serverName)) {
            p.setServerNames(List.of(new SNIHostName(serverName)));
        }
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

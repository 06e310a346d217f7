package io.streamproxy.testkit;

import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A TLS client that does only what a test tells it, for the cases the real client refuses to produce: no client
 * certificate, another ALPN id, header bytes written by hand.
 */
public final class RawTlsClient {
    private RawTlsClient() {
    }

    /**
     * Connects and handshakes.
     *
     * @param server      the server
     * @param credentials client credentials, or null to trust {@code trust} and present no certificate
     * @param trust       credentials whose CAs to trust when {@code credentials} is null
     * @param alpn        ALPN ids to offer; empty for none
     * @param timeout     bounds connect, handshake and every later read
     * @return a handshaken socket
     * @throws IOException if connecting or the handshake fails
     */
    public static SSLSocket connect(InetSocketAddress server, TlsCredentials credentials, TlsCredentials trust,
                                    String[] alpn, Duration timeout) throws IOException {
        return connect(server, credentials, trust, alpn, new String[] {"TLSv1.3", "TLSv1.2"}, timeout);
    }

    /**
     * Connects and handshakes with only the given TLS versions enabled.
     *
     * @param server      the server
     * @param credentials client credentials, or null to trust {@code trust} and present no certificate
     * @param trust       credentials whose CAs to trust when {@code credentials} is null
     * @param alpn        ALPN ids to offer; empty for none
     * @param protocols   the TLS versions to enable, such as {@code TLSv1.2}
     * @param timeout     bounds connect, handshake and every later read
     * @return a handshaken socket
     * @throws IOException if connecting or the handshake fails
     */
    public static SSLSocket connect(InetSocketAddress server, TlsCredentials credentials, TlsCredentials trust,
                                    String[] alpn, String[] protocols, Duration timeout) throws IOException {
        return connect(server, credentials, trust, alpn, protocols, timeout, 0);
    }

    /**
     * Connects and handshakes with a small receive buffer, for a client that reads slowly.
     *
     * @param server        the server
     * @param credentials   client credentials
     * @param alpn          ALPN ids to offer
     * @param timeout       bounds connect, handshake and every later read
     * @param receiveBuffer the socket's receive buffer in bytes, or 0 for the system's
     * @return a handshaken socket
     * @throws IOException if connecting or the handshake fails
     */
    public static SSLSocket connectWithReceiveBuffer(InetSocketAddress server, TlsCredentials credentials,
            String[] alpn, Duration timeout, int receiveBuffer) throws IOException {
        return connect(server, credentials, null, alpn, new String[] {"TLSv1.3"}, timeout, receiveBuffer);
    }

    private static SSLSocket connect(InetSocketAddress server, TlsCredentials credentials, TlsCredentials trust,
            String[] alpn, String[] protocols, Duration timeout, int receiveBuffer) throws IOException {
        SSLContext context;
        try {
            if (credentials != null) {
                context = credentials.newSslContext("TLS");
            } else {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
                tmf.init(trust.trustStore());
                context = SSLContext.getInstance("TLS");
                context.init(null, tmf.getTrustManagers(), new SecureRandom());
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
        Socket raw = new Socket();
        if (receiveBuffer > 0) {
            raw.setReceiveBufferSize(receiveBuffer); // before connect, so that the window is small from the start
        }
        raw.connect(server, (int) timeout.toMillis());
        raw.setSoTimeout((int) timeout.toMillis());
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(raw, "godoxy.agent", server.getPort(),
                true);
        SSLParameters p = s.getSSLParameters();
        p.setApplicationProtocols(alpn);
        p.setProtocols(protocols);
        p.setServerNames(java.util.List.of(new SNIHostName("godoxy.agent")));
        p.setEndpointIdentificationAlgorithm("HTTPS");
        s.setSSLParameters(p);
        try {
            s.startHandshake();
        } catch (IOException e) {
            s.close();
            throw e;
        }
        synchronized (TRANSPORTS) {
            TRANSPORTS.put(s, raw);
        }
        return s;
    }

    private static final java.util.Map<SSLSocket, Socket> TRANSPORTS = new java.util.WeakHashMap<>();

    /**
     * Returns the TCP socket under a connection made here, to send bytes past the TLS layer.
     *
     * @param s a socket from {@link #connect}
     * @return its transport socket
     */
    public static Socket transport(SSLSocket s) {
        synchronized (TRANSPORTS) {
            Socket raw = TRANSPORTS.get(s);
            if (raw == null) {
                throw new IllegalArgumentException("not a socket of RawTlsClient");
            }
            return raw;
        }
    }

    /**
     * Aborts a connection made here as a crashed or cut-off client would: the TCP socket under the TLS layer is
     * reset (SO_LINGER 0), and no close_notify is sent.
     *
     * @param s a socket from {@link #connect}
     * @throws IOException if the socket cannot be reset
     */
    public static void reset(SSLSocket s) throws IOException {
        Socket raw;
        synchronized (TRANSPORTS) {
            raw = TRANSPORTS.remove(s);
        }
        if (raw == null) {
            throw new IllegalArgumentException("not a socket of RawTlsClient");
        }
        raw.setSoLinger(true, 0);
        raw.close();
    }
}

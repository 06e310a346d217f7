package io.streamproxy;

import java.net.Socket;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Date;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The JDK's PKIX trust manager on a server that meets the same client chains again and again (a GoDoxy server makes a
 * full handshake per connection with one certificate): a client chain the JDK accepted is remembered, and the next
 * handshake with the very same chain (compared byte for byte) skips the path validation, which costs a signature
 * check in Java per certificate. The dates are still checked on every handshake, the memory is bounded, and it belongs
 * to one {@link TlsCredentials}, so reloaded CAs start afresh. Server chains are always validated in full: the host
 * name check depends on the connection.
 */
final class ClientChainCache extends X509ExtendedTrustManager {
    static final int MAX_CHAINS = 1024;

    private final X509ExtendedTrustManager jdk;
    private final ConcurrentHashMap<Chain, Boolean> accepted = new ConcurrentHashMap<>();

    ClientChainCache(X509ExtendedTrustManager jdk) {
        this.jdk = jdk;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        Chain key = Chain.of(chain, authType);
        if (!remembered(key, chain)) {
            jdk.checkClientTrusted(chain, authType, engine);
            remember(key);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        Chain key = Chain.of(chain, authType);
        if (!remembered(key, chain)) {
            jdk.checkClientTrusted(chain, authType, socket);
            remember(key);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        Chain key = Chain.of(chain, authType);
        if (!remembered(key, chain)) {
            jdk.checkClientTrusted(chain, authType);
            remember(key);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        jdk.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        jdk.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        jdk.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return jdk.getAcceptedIssuers();
    }

    int size() {
        return accepted.size();
    }

    private boolean remembered(Chain key, X509Certificate[] chain) {
        if (key == null || !accepted.containsKey(key)) {
            return false;
        }
        Date now = new Date();
        for (X509Certificate c : chain) {
            if (now.before(c.getNotBefore()) || now.after(c.getNotAfter())) {
                accepted.remove(key);
                return false; // the JDK's own check says what is wrong with the dates
            }
        }
        return true;
    }

    private void remember(Chain key) {
        if (key == null) {
            return;
        }
        if (accepted.size() >= MAX_CHAINS) {
            accepted.clear(); // a bound, not an LRU: a server meets far fewer distinct client chains than this
        }
        accepted.put(key, Boolean.TRUE);
    }

    /** A chain's exact encoding and the key type it was checked for. */
    private static final class Chain {
        private final byte[][] encoded;
        private final String authType;
        private final int hash;

        private Chain(byte[][] encoded, String authType) {
            this.encoded = encoded;
            this.authType = authType;
            this.hash = 31 * Arrays.deepHashCode(encoded) + authType.hashCode();
        }

        static Chain of(X509Certificate[] chain, String authType) {
            if (chain == null || chain.length == 0 || authType == null) {
                return null; // the JDK's check rejects it, with its own message
            }
            byte[][] encoded = new byte[chain.length][];
            try {
                for (int i = 0; i < chain.length; i++) {
                    encoded[i] = chain[i].getEncoded();
                }
            } catch (CertificateEncodingException e) {
                return null;
            }
            return new Chain(encoded, authType);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Chain && ((Chain) o).hash == hash && ((Chain) o).authType.equals(authType)
                    && Arrays.deepEquals(((Chain) o).encoded, encoded);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}

package io.streamproxy;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The JDK's PKIX trust manager on a server that meets the same client chains again and again (a GoDoxy server makes a
 * full handshake per connection with one certificate): a client chain the JDK accepted is remembered, and the next
 * handshake with the very same chain (compared byte for byte) skips the path validation, which costs a signature
 * check in Java per certificate. The dates are still checked on every handshake, the memory is bounded, and it belongs
 * to one {@link TlsCredentials}, so reloaded CAs start afresh. Server chains are always validated in full: the host
 * name check depends on the connection. A refused chain, client or server, is named in the exception with the reason
 * ({@link ChainRefusal}).
 */
final class ClientChainCache extends X509ExtendedTrustManager {
    static final int MAX_CHAINS = 1024;

    private final X509ExtendedTrustManager jdk;
    private final ConcurrentHashMap<EncodedChain, ChainValidity> accepted = new ConcurrentHashMap<>();

    ClientChainCache(X509ExtendedTrustManager jdk) {
        this.jdk = jdk;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkClient(chain, authType, () -> jdk.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkClient(chain, authType, () -> jdk.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClient(chain, authType, () -> jdk.checkClientTrusted(chain, authType));
    }

    /** One of the JDK's checks. */
    private interface JdkCheck {
        void run() throws CertificateException;
    }

    private void checkClient(X509Certificate[] chain, String authType, JdkCheck full) throws CertificateException {
        EncodedChain key = EncodedChain.of(chain, authType);
        if (!remembered(key)) {
            try {
                full.run();
            } catch (CertificateException e) {
                throw ChainRefusal.of("client", chain, jdk.getAcceptedIssuers(), e);
            }
            remember(key, chain);
        }
    }

    private void checkServer(X509Certificate[] chain, JdkCheck full) throws CertificateException {
        try {
            full.run();
        } catch (CertificateException e) {
            throw ChainRefusal.of("server", chain, jdk.getAcceptedIssuers(), e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkServer(chain, () -> jdk.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkServer(chain, () -> jdk.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkServer(chain, () -> jdk.checkServerTrusted(chain, authType));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return jdk.getAcceptedIssuers();
    }

    int size() {
        return accepted.size();
    }

    private boolean remembered(EncodedChain key) {
        if (key == null) {
            return false;
        }
        ChainValidity v = accepted.get(key);
        if (v == null) {
            return false;
        }
        if (!v.validAt(System.currentTimeMillis())) {
            accepted.remove(key);
            return false; // the JDK's own check says what is wrong with the dates
        }
        return true;
    }

    private void remember(EncodedChain key, X509Certificate[] chain) {
        if (key == null) {
            return;
        }
        if (accepted.size() >= MAX_CHAINS) {
            accepted.clear(); // a bound, not an LRU: a server meets far fewer distinct client chains than this
        }
        accepted.put(key, ChainValidity.of(chain));
    }
}

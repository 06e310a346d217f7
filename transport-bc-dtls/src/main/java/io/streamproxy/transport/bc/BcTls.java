package io.streamproxy.transport.bc;

import io.streamproxy.CertificateRefusedException;
import io.streamproxy.TlsCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Vector;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.HashAlgorithm;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SignatureAlgorithm;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsContext;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * What both ends share on Bouncy Castle: the crypto (Bouncy Castle's provider, not installed globally), DTLS 1.2
 * only, the ECDHE cipher suites with the Go peer's {@code TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256} first, this side's
 * credentials as a signer, and the peer chain validation Bouncy Castle does not do: the credentials' trust manager,
 * as on every transport (the JDK's PKIX against the configured CAs, dates and extended key usage included, refusals
 * naming the certificate), answered with the alert Go sends for the refusal, and for servers the name.
 */
final class BcTls {
    static final ProtocolVersion[] VERSIONS = ProtocolVersion.DTLSv12.only();
    static final int[] CIPHER_SUITES = {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    };

    final JcaTlsCrypto crypto;
    private final TlsCredentials credentials;
    private final Certificate ownChain;
    private final Vector<X500Name> authorities = new Vector<>();

    BcTls(TlsCredentials credentials) throws IOException {
        this.credentials = credentials;
        this.crypto = new JcaTlsCryptoProvider().setProvider(new BouncyCastleProvider()).create(new SecureRandom());
        List<X509Certificate> chain = credentials.certificateChain();
        TlsCertificate[] tlsChain = new TlsCertificate[chain.size()];
        try {
            for (int i = 0; i < chain.size(); i++) {
                tlsChain[i] = crypto.createCertificate(chain.get(i).getEncoded());
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot encode the certificate chain", e);
        }
        this.ownChain = new Certificate(tlsChain);
        for (X509Certificate ca : credentials.trustedCas()) {
            authorities.add(X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()));
        }
    }

    /** @return the CA names a server asks client certificates to chain to */
    Vector<X500Name> authorities() {
        return authorities;
    }

    /** This side's certificate and key as a signer for the handshake in {@code context}. */
    TlsCredentialedSigner signer(TlsContext context) {
        PrivateKey key = credentials.privateKey();
        short algorithm = key.getAlgorithm().startsWith("RSA") ? SignatureAlgorithm.rsa : SignatureAlgorithm.ecdsa;
        return new JcaDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, key, ownChain,
                new SignatureAndHashAlgorithm(HashAlgorithm.sha256, algorithm));
    }

    /** @return true if this side's key is RSA */
    boolean isRsa() {
        return credentials.privateKey().getAlgorithm().startsWith("RSA");
    }

    /**
     * Validates a peer's chain: not empty, accepted by the credentials' trust manager (PKIX to a configured CA at the
     * current time, the right extended key usage on the leaf), and (when {@code serverName} is given) the name in its
     * subject alternative names.
     *
     * @throws TlsFatalAlert with the alert to send when the chain is refused
     */
    List<X509Certificate> validate(Certificate peer, boolean peerIsServer, String serverName) throws IOException {
        if (peer == null || peer.isEmpty()) {
            throw new TlsFatalAlert(AlertDescription.handshake_failure, "peer sent no certificate");
        }
        X509Certificate[] chain = new X509Certificate[peer.getLength()];
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (int i = 0; i < chain.length; i++) {
                chain[i] = (X509Certificate) cf.generateCertificate(
                        new ByteArrayInputStream(peer.getCertificateAt(i).getEncoded()));
            }
        } catch (GeneralSecurityException e) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "unreadable peer certificate", e);
        }
        X509Certificate leaf = chain[0];
        try {
            if (peerIsServer) {
                credentials.trustManager().checkServerTrusted(chain,
                        leaf.getPublicKey().getAlgorithm().startsWith("RSA") ? "ECDHE_RSA" : "ECDHE_ECDSA");
            } else {
                credentials.trustManager().checkClientTrusted(chain, leaf.getPublicKey().getAlgorithm());
            }
        } catch (CertificateRefusedException e) {
            throw new TlsFatalAlert((short) e.reason().alert(), e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "peer certificate refused: " + e.getMessage(),
                    e);
        }
        if (serverName != null && !matchesName(leaf, serverName)) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate,
                    "server certificate is not valid for " + serverName);
        }
        return List.of(chain);
    }

    private static boolean matchesName(X509Certificate cert, String name) throws IOException {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "unreadable subject alternative names", e);
        }
        if (sans == null) {
            return false;
        }
        boolean ip = isIpLiteral(name);
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            String value = String.valueOf(san.get(1));
            if (ip && type == 7 && InetAddress.getByName(value).equals(InetAddress.getByName(name))) {
                return true;
            }
            if (!ip && type == 2 && dnsMatches(value, name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean dnsMatches(String pattern, String name) {
        String p = pattern.toLowerCase(Locale.ROOT);
        String n = name.toLowerCase(Locale.ROOT);
        if (p.startsWith("*.")) {
            int dot = n.indexOf('.');
            return dot > 0 && n.substring(dot).equals(p.substring(1));
        }
        return p.equals(n);
    }

    static boolean isIpLiteral(String host) {
        try {
            return io.streamproxy.protocol.HostSyntax.literal(host).isPresent();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}

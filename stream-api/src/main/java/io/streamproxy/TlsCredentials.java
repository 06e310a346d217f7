package io.streamproxy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The mutual-TLS material of one side of a tunnel: the CA certificates that the peer's certificate must chain to,
 * this side's certificate chain, and its private key. Load it from PEM files ({@code PRIVATE KEY} PKCS#8 keys with
 * the JDK alone; the Go agent's SEC1 {@code EC PRIVATE KEY} keys when Bouncy Castle's bcpkix is on the class path)
 * or from a {@link KeyStore}. The key is checked against the certificate when loaded, and never shown by
 * {@link #toString()}.
 */
public final class TlsCredentials {
    private static final char[] NO_PASSWORD = new char[0];

    private final List<X509Certificate> trustedCas;
    private final List<X509Certificate> chain;
    private final PrivateKey privateKey;
    private volatile X509ExtendedTrustManager trustManager;

    private TlsCredentials(List<X509Certificate> trustedCas, List<X509Certificate> chain, PrivateKey privateKey) {
        if (trustedCas.isEmpty()) {
            throw new IllegalArgumentException("no trusted CA certificate given");
        }
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("no certificate given for this side");
        }
        this.trustedCas = List.copyOf(trustedCas);
        this.chain = List.copyOf(chain);
        this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
        checkKeyMatches(chain.get(0), privateKey);
    }

    /**
     * Creates credentials from objects already in memory.
     *
     * @param trustedCas the CA certificates the peer must chain to
     * @param chain      this side's certificate first, then any intermediates
     * @param privateKey the private key of {@code chain.get(0)}
     * @return the credentials
     * @throws IllegalArgumentException if a list is empty or the key does not match the certificate
     */
    public static TlsCredentials of(List<X509Certificate> trustedCas, List<X509Certificate> chain,
                                    PrivateKey privateKey) {
        return new TlsCredentials(trustedCas, chain, privateKey);
    }

    /**
     * Loads credentials from PEM files.
     *
     * @param caFile   PEM file with one or more CA certificates
     * @param certFile PEM file with this side's certificate, then any intermediates
     * @param keyFile  PEM file with its private key ({@code PRIVATE KEY}, or {@code EC PRIVATE KEY} with Bouncy
     *                 Castle present)
     * @return the credentials
     * @throws IOException if a file cannot be read or holds no usable certificate or key, or the key does not match
     */
    public static TlsCredentials fromPem(Path caFile, Path certFile, Path keyFile) throws IOException {
        List<X509Certificate> cas = readCertificates(caFile);
        List<X509Certificate> chain = readCertificates(certFile);
        PrivateKey key = PemKeys.read(keyFile);
        try {
            return new TlsCredentials(cas, chain, key);
        } catch (IllegalArgumentException e) {
            throw new IOException(keyFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Takes credentials from key stores: the first private-key entry of {@code keyStore} and every certificate of
     * {@code trustStore}.
     *
     * @param keyStore   holds this side's key and chain
     * @param password   the password of the key entry
     * @param trustStore holds the trusted CA certificates
     * @return the credentials
     * @throws GeneralSecurityException if the stores hold no key entry or no certificate
     */
    public static TlsCredentials fromKeyStore(KeyStore keyStore, char[] password, KeyStore trustStore)
            throws GeneralSecurityException {
        PrivateKey key = null;
        List<X509Certificate> chain = new ArrayList<>();
        for (String alias : Collections.list(keyStore.aliases())) {
            if (keyStore.isKeyEntry(alias)) {
                Key k = keyStore.getKey(alias, password);
                if (k instanceof PrivateKey) {
                    key = (PrivateKey) k;
                    for (Certificate c : keyStore.getCertificateChain(alias)) {
                        chain.add((X509Certificate) c);
                    }
                    break;
                }
            }
        }
        if (key == null) {
            throw new KeyStoreException("the key store holds no private key entry");
        }
        List<X509Certificate> cas = new ArrayList<>();
        Enumeration<String> aliases = trustStore.aliases();
        while (aliases.hasMoreElements()) {
            Certificate c = trustStore.getCertificate(aliases.nextElement());
            if (c instanceof X509Certificate) {
                cas.add((X509Certificate) c);
            }
        }
        if (cas.isEmpty()) {
            throw new KeyStoreException("the trust store holds no certificate");
        }
        try {
            return new TlsCredentials(cas, chain, key);
        } catch (IllegalArgumentException e) {
            throw new KeyStoreException(e.getMessage(), e);
        }
    }

    /**
     * Returns the CA certificates the peer's certificate must chain to.
     *
     * @return an immutable list
     */
    public List<X509Certificate> trustedCas() {
        return trustedCas;
    }

    /**
     * Returns this side's certificate chain, leaf first.
     *
     * @return an immutable list
     */
    public List<X509Certificate> certificateChain() {
        return chain;
    }

    /**
     * Returns this side's private key.
     *
     * @return the key
     */
    public PrivateKey privateKey() {
        return privateKey;
    }

    /**
     * Builds an {@link SSLContext} for {@code protocol} ({@code "TLS"} or {@code "DTLSv1.2"}) that presents this
     * side's certificate and trusts only the configured CAs (PKIX validation, dates and extended key usage).
     *
     * @param protocol the JSSE protocol name
     * @return an initialised context
     * @throws GeneralSecurityException if the JDK cannot build it
     */
    public SSLContext newSslContext(String protocol) throws GeneralSecurityException {
        KeyStore keys = emptyKeyStore();
        keys.setKeyEntry("self", privateKey, NO_PASSWORD, chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, NO_PASSWORD);
        SSLContext context = SSLContext.getInstance(protocol);
        context.init(kmf.getKeyManagers(), new TrustManager[] {trustManager()}, new SecureRandom());
        return context;
    }

    /**
     * Returns the trust manager every context built from these credentials uses: the JDK's PKIX validation against
     * the configured CAs (dates and extended key usage included), which remembers the client chains it accepted so
     * that a client reconnecting with the same chain skips the path validation (its dates are still checked each
     * time). One per credentials, so reloaded CAs start with nothing remembered. A chain it refuses, a client's or a
     * server's, is a {@link CertificateRefusedException} that names the certificate and classifies the reason.
     *
     * @return the trust manager
     * @throws GeneralSecurityException if the JDK cannot build it
     */
    public X509ExtendedTrustManager trustManager() throws GeneralSecurityException {
        X509ExtendedTrustManager tm = trustManager;
        if (tm == null) {
            synchronized (this) {
                tm = trustManager;
                if (tm == null) {
                    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
                    tmf.init(trustStore());
                    X509ExtendedTrustManager jdk = null;
                    for (TrustManager m : tmf.getTrustManagers()) {
                        if (m instanceof X509ExtendedTrustManager) {
                            jdk = (X509ExtendedTrustManager) m;
                        }
                    }
                    if (jdk == null) {
                        throw new KeyStoreException("the JDK offers no X509ExtendedTrustManager for PKIX");
                    }
                    trustManager = tm = new ClientChainCache(jdk);
                }
            }
        }
        return tm;
    }

    /**
     * Returns a key store holding the trusted CA certificates, for transports that build their own trust managers.
     *
     * @return a new in-memory key store
     * @throws GeneralSecurityException if the JDK cannot build it
     */
    public KeyStore trustStore() throws GeneralSecurityException {
        KeyStore trust = emptyKeyStore();
        int i = 0;
        for (X509Certificate ca : trustedCas) {
            trust.setCertificateEntry("ca-" + i++, ca);
        }
        return trust;
    }

    @Override
    public String toString() {
        return "TlsCredentials{subject=" + chain.get(0).getSubjectX500Principal().getName()
                + ", trustedCas=" + trustedCas.size() + ", key=" + privateKey.getAlgorithm() + " (redacted)}";
    }

    private static KeyStore emptyKeyStore() throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, null);
        } catch (IOException e) {
            throw new KeyStoreException("cannot create an in-memory key store", e);
        }
        return store;
    }

    private static List<X509Certificate> readCertificates(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String text = new String(bytes, StandardCharsets.US_ASCII);
        if (text.contains("-----BEGIN") && !text.contains("-----BEGIN CERTIFICATE-----")) {
            throw new IOException(file + ": holds no PEM certificate"
                    + (text.contains("PRIVATE KEY-----") ? " (it looks like a private key)" : ""));
        }
        List<X509Certificate> out = new ArrayList<>();
        try (InputStream in = new ByteArrayInputStream(bytes)) {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": not a PEM certificate file: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": holds no certificate");
        }
        return out;
    }

    private static void checkKeyMatches(X509Certificate cert, PrivateKey key) {
        String keyAlg = key.getAlgorithm();
        String certAlg = cert.getPublicKey().getAlgorithm();
        if (!sameFamily(keyAlg, certAlg)) {
            throw new IllegalArgumentException("the private key (" + keyAlg + ") does not match the certificate ("
                    + certAlg + ") of " + cert.getSubjectX500Principal().getName());
        }
        String sigAlg;
        switch (certAlg) {
            case "EC":
                sigAlg = "SHA256withECDSA";
                break;
            case "RSA":
                sigAlg = "SHA256withRSA";
                break;
            default:
                return; // Ed25519 and others: the handshake will tell
        }
        try {
            byte[] probe = "stream-proxy key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(sigAlg);
            signer.initSign(key);
            signer.update(probe);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(sigAlg);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            if (!verifier.verify(sig)) {
                throw new IllegalArgumentException("the private key does not match the certificate of "
                        + cert.getSubjectX500Principal().getName());
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot check the private key against the certificate: "
                    + e.getMessage(), e);
        }
    }

    private static boolean sameFamily(String a, String b) {
        return a.equals(b) || (a.equals("ECDSA") && b.equals("EC")) || (a.equals("EC") && b.equals("ECDSA"));
    }

    /** A {@link GeneralSecurityException} for key store content problems. */
    private static final class KeyStoreException extends GeneralSecurityException {
        private static final long serialVersionUID = 1L;

        KeyStoreException(String message) {
            super(message);
        }

        KeyStoreException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}

package io.streamproxy.testkit;

import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A throw-away PKI for tests, made with Bouncy Castle like the Go agent's: ECDSA P-256 keys, a CA, a server
 * certificate for {@code godoxy.agent}, {@code localhost}, {@code 127.0.0.1} and {@code ::1} (serverAuth), a client
 * certificate (clientAuth), plus the bad cases tests need: an expired client certificate and a client certificate
 * from a foreign CA. Everything is also written as PEM files (PKCS#8 keys, and the client key once more as SEC1) for
 * outside peers such as {@code openssl} and Python.
 */
public final class TestPki {
    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());
    private static volatile TestPki shared;

    private final Path directory;
    private final Issued ca;
    private final Issued server;
    private final Issued client;
    private final Issued expiredClient;
    private final Issued foreignCa;
    private final Issued foreignClient;

    /** A certificate with its key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
    }

    private TestPki(Path directory) throws GeneralSecurityException, OperatorCreationException, IOException {
        this.directory = directory;
        Instant now = Instant.now();
        Instant from = now.minus(Duration.ofHours(1));
        Instant to = now.plus(Duration.ofDays(2));
        ca = issueCa("CN=stream-proxy test CA", from, to);
        server = issueLeaf(ca, "CN=godoxy.agent", from, to, KeyPurposeId.id_kp_serverAuth,
                List.of(dns("godoxy.agent"), dns("localhost"), ip("127.0.0.1"), ip("::1")));
        client = issueLeaf(ca, "CN=stream-proxy test client", from, to, KeyPurposeId.id_kp_clientAuth, List.of());
        expiredClient = issueLeaf(ca, "CN=stream-proxy expired client", now.minus(Duration.ofDays(3)),
                now.minus(Duration.ofDays(1)), KeyPurposeId.id_kp_clientAuth, List.of());
        foreignCa = issueCa("CN=foreign CA", from, to);
        foreignClient = issueLeaf(foreignCa, "CN=foreign client", from, to, KeyPurposeId.id_kp_clientAuth,
                List.of());
        writeCert("ca.pem", ca);
        writeCert("server.pem", server);
        writePkcs8("server-key.pem", server);
        writeCert("client.pem", client);
        writePkcs8("client-key.pem", client);
        writeSec1("client-key-sec1.pem", client);
        writeCert("foreign-ca.pem", foreignCa);
    }

    /**
     * Creates a new PKI whose PEM files go to a fresh temporary folder.
     *
     * @return the PKI
     */
    public static TestPki create() {
        try {
            Path dir = Files.createTempDirectory("stream-proxy-pki-");
            dir.toFile().deleteOnExit();
            return new TestPki(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create the test PKI", e);
        }
    }

    /**
     * Returns one PKI shared by every test in this JVM (key generation is not free).
     *
     * @return the shared PKI
     */
    public static TestPki shared() {
        TestPki p = shared;
        if (p == null) {
            synchronized (TestPki.class) {
                p = shared;
                if (p == null) {
                    p = create();
                    shared = p;
                }
            }
        }
        return p;
    }

    /** @return the folder holding the PEM files */
    public Path directory() {
        return directory;
    }

    /** @return the CA certificate file */
    public Path caFile() {
        return directory.resolve("ca.pem");
    }

    /** @return the server certificate file */
    public Path serverCertFile() {
        return directory.resolve("server.pem");
    }

    /** @return the server key file (PKCS#8) */
    public Path serverKeyFile() {
        return directory.resolve("server-key.pem");
    }

    /** @return the client certificate file */
    public Path clientCertFile() {
        return directory.resolve("client.pem");
    }

    /** @return the client key file (PKCS#8) */
    public Path clientKeyFile() {
        return directory.resolve("client-key.pem");
    }

    /** @return the client key file in SEC1 ({@code EC PRIVATE KEY}) form, as the Go agent writes keys */
    public Path clientSec1KeyFile() {
        return directory.resolve("client-key-sec1.pem");
    }

    /** @return the CA certificate */
    public X509Certificate caCertificate() {
        return ca.certificate();
    }

    /** @return the server's credentials: its certificate and key, trusting the CA for clients */
    public TlsCredentials serverCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(server.certificate()), server.key());
    }

    /** @return a good client's credentials, trusting the CA for the server */
    public TlsCredentials clientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(client.certificate()), client.key());
    }

    /** @return credentials with an expired client certificate from the right CA */
    public TlsCredentials expiredClientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(expiredClient.certificate()),
                expiredClient.key());
    }

    /** @return credentials with a client certificate from a foreign CA (the server certificate is trusted) */
    public TlsCredentials foreignClientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(foreignClient.certificate()),
                foreignClient.key());
    }

    /** @return credentials that trust only the foreign CA, so the server's certificate is refused */
    public TlsCredentials clientTrustingForeignCa() {
        return TlsCredentials.of(List.of(foreignCa.certificate()), List.of(client.certificate()), client.key());
    }

    /** @return the server certificate and key */
    public Issued server() {
        return server;
    }

    /** @return the client certificate and key from the foreign CA */
    public Issued foreignClient() {
        return foreignClient;
    }

    /** @return the good client certificate and key */
    public Issued client() {
        return client;
    }

    private static Issued issueCa(String subject, Instant from, Instant to)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        KeyPair keys = newKeyPair();
        X500Name name = new X500Name(subject);
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(from),
                Date.from(to), name, keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign
                | KeyUsage.digitalSignature));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
        return new Issued(sign(b, keys.getPrivate()), keys.getPrivate());
    }

    private static Issued issueLeaf(Issued issuer, String subject, Instant from, Instant to, KeyPurposeId usage,
                                    List<GeneralName> sans)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        KeyPair keys = newKeyPair();
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer.certificate(), serial(),
                Date.from(from), Date.from(to), new X500Name(subject), keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(usage));
        b.addExtension(Extension.authorityKeyIdentifier, false,
                ext.createAuthorityKeyIdentifier(issuer.certificate()));
        if (!sans.isEmpty()) {
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(sans.toArray(new GeneralName[0])));
        }
        return new Issued(sign(b, issuer.key()), keys.getPrivate());
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder b, PrivateKey issuerKey)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey);
        X509CertificateHolder holder = b.build(signer);
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIALS.incrementAndGet());
    }

    private static GeneralName dns(String name) {
        return new GeneralName(GeneralName.dNSName, name);
    }

    private static GeneralName ip(String address) {
        return new GeneralName(GeneralName.iPAddress, address);
    }

    private void writeCert(String file, Issued issued) throws IOException {
        writePem(file, issued.certificate());
    }

    private void writePkcs8(String file, Issued issued) throws IOException {
        writePem(file, new JcaPKCS8Generator(issued.key(), null));
    }

    /** Writes SEC1 as Go's x509.MarshalECPrivateKey does: named curve parameters and the public key included. */
    private void writeSec1(String file, Issued issued) throws IOException {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(issued.key().getEncoded());
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(
                issued.certificate().getPublicKey().getEncoded());
        ECPrivateKey sec1 = new ECPrivateKey(256, ((java.security.interfaces.ECPrivateKey) issued.key()).getS(),
                spki.getPublicKeyData(), info.getPrivateKeyAlgorithm().getParameters());
        writePem(file, new PemObject("EC PRIVATE KEY", sec1.getEncoded()));
    }

    private void writePem(String file, Object object) throws IOException {
        Path path = directory.resolve(file);
        try (Writer w = Files.newBufferedWriter(path, StandardCharsets.US_ASCII);
             JcaPEMWriter pem = new JcaPEMWriter(w)) {
            pem.writeObject(object);
        }
        path.toFile().deleteOnExit();
    }

    /**
     * Lists the PEM files written, for cleanup or inspection.
     *
     * @return the files
     */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        for (String f : new String[] {"ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem",
                "client-key-sec1.pem", "foreign-ca.pem"}) {
            out.add(directory.resolve(f));
        }
        return out;
    }
}

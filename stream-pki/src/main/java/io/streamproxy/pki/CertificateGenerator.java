package io.streamproxy.pki;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * Issues ECDSA P-256 certificates as the Go agent does (a CA; server certificates with serverAuth and DNS/IP SANs;
 * client certificates with clientAuth) and writes them as PEM. Keys are written owner-read/write only.
 */
public final class CertificateGenerator {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A certificate and its private key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
    }

    /** What a leaf certificate is for. */
    public enum Usage {
        /** A TLS server (serverAuth). */
        SERVER,
        /** A TLS client (clientAuth). */
        CLIENT
    }

    private CertificateGenerator() {
    }

    /**
     * Issues a self-signed CA.
     *
     * @param subject the distinguished name, such as {@code CN=stream-proxy CA}
     * @param from    not before
     * @param to      not after
     * @return the CA
     * @throws GeneralSecurityException if the JDK cannot make the key or signature
     */
    public static Issued ca(String subject, Instant from, Instant to) throws GeneralSecurityException {
        try {
            KeyPair keys = newKeyPair();
            X500Name name = new X500Name(subject);
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(from),
                    Date.from(to), name, keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            b.addExtension(Extension.subjectKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
            return new Issued(sign(b, keys.getPrivate()), keys.getPrivate());
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot issue the CA: " + e.getMessage(), e);
        }
    }

    /**
     * Issues a leaf certificate signed by {@code issuer}.
     *
     * @param issuer  the CA
     * @param subject the distinguished name
     * @param from    not before
     * @param to      not after
     * @param usage   server or client
     * @param names   subject alternative names: DNS names, or IPv4/IPv6 literals
     * @return the certificate and key
     * @throws GeneralSecurityException if the JDK cannot make the key or signature
     */
    public static Issued leaf(Issued issuer, String subject, Instant from, Instant to, Usage usage,
                              List<String> names) throws GeneralSecurityException {
        try {
            KeyPair keys = newKeyPair();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer.certificate(), serial(),
                    Date.from(from), Date.from(to), new X500Name(subject), keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    usage == Usage.SERVER ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(issuer.certificate()));
            if (!names.isEmpty()) {
                GeneralName[] sans = names.stream().map(CertificateGenerator::generalName)
                        .toArray(GeneralName[]::new);
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
            }
            return new Issued(sign(b, issuer.key()), keys.getPrivate());
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot issue " + subject + ": " + e.getMessage(), e);
        }
    }

    private static GeneralName generalName(String name) {
        return isIpLiteral(name) ? new GeneralName(GeneralName.iPAddress, name)
                : new GeneralName(GeneralName.dNSName, name);
    }

    /**
     * Tells whether a name is an IPv4 or IPv6 literal (no DNS lookup).
     *
     * @param name the name
     * @return true for an IP literal
     */
    public static boolean isIpLiteral(String name) {
        if (name.indexOf(':') >= 0) {
            return true;
        }
        String[] parts = name.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit) || Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes a certificate as PEM (world-readable).
     *
     * @param file        the file
     * @param certificate the certificate
     * @throws IOException if writing fails
     */
    public static void writeCertificate(Path file, X509Certificate certificate) throws IOException {
        write(file, certificate, false);
    }

    /**
     * Writes a private key as PKCS#8 PEM ({@code PRIVATE KEY}), owner-only.
     *
     * @param file the file
     * @param key  the key
     * @throws IOException if writing fails
     */
    public static void writePkcs8(Path file, PrivateKey key) throws IOException {
        write(file, new JcaPKCS8Generator(key, null), true);
    }

    /**
     * Writes an EC private key as SEC1 PEM ({@code EC PRIVATE KEY}) with curve and public key, as the Go agent's
     * {@code x509.MarshalECPrivateKey} does; owner-only.
     *
     * @param file   the file
     * @param issued the key and its certificate (for the public key)
     * @throws IOException if writing fails
     */
    public static void writeSec1(Path file, Issued issued) throws IOException {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(issued.key().getEncoded());
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(issued.certificate().getPublicKey()
                .getEncoded());
        ECPrivateKey sec1 = new ECPrivateKey(256, ((java.security.interfaces.ECPrivateKey) issued.key()).getS(),
                spki.getPublicKeyData(), info.getPrivateKeyAlgorithm().getParameters());
        write(file, new PemObject("EC PRIVATE KEY", sec1.getEncoded()), true);
    }

    /**
     * Writes to a temporary file beside the target, created owner-only from the start for a secret (never readable
     * by others, whatever the umask, not even for a moment), then moves it into place atomically, so that a reader
     * never sees a half-written file and an existing file is replaced in one step.
     */
    private static void write(Path file, Object pemObject, boolean secret) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path temp;
        try {
            temp = secret ? Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
                    PosixFilePermissions.asFileAttribute(EnumSet.of(PosixFilePermission.OWNER_READ,
                            PosixFilePermission.OWNER_WRITE)))
                    : Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        } catch (UnsupportedOperationException e) {
            temp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp"); // not POSIX: the platform's default
        }
        try {
            if (!secret) {
                try {
                    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
                } catch (UnsupportedOperationException e) {
                    // not POSIX
                }
            }
            try (Writer w = Files.newBufferedWriter(temp, StandardCharsets.US_ASCII,
                    StandardOpenOption.TRUNCATE_EXISTING);
                 JcaPEMWriter pem = new JcaPEMWriter(w)) {
                pem.writeObject(pemObject);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder b, PrivateKey issuerKey)
            throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }
}

package io.streamproxy;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** EC P-256 certificates for the tests of this module, made with Bouncy Castle. */
final class TestCertificates {
    private TestCertificates() {
    }

    static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    static X509Certificate client(PrivateKey issuerKey, long serial, Instant notAfter) throws Exception {
        return client(issuerKey, serial, notAfter, "CN=test ca");
    }

    static X509Certificate client(PrivateKey issuerKey, long serial, Instant notAfter, String issuer)
            throws Exception {
        return certificate("CN=client " + serial, keys().getPublic(), issuer, issuerKey, false, serial,
                Instant.now().minus(Duration.ofDays(1)), notAfter);
    }

    static X509Certificate certificate(String subject, PublicKey key, String issuer, PrivateKey issuerKey,
                                               boolean isCa, long serial, Instant notBefore, Instant notAfter)
            throws Exception {
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Principal(issuer),
                BigInteger.valueOf(serial), Date.from(notBefore), Date.from(notAfter), new X500Principal(subject),
                key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (!isCa) {
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    }
}

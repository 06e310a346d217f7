package io.streamproxy;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import java.security.PrivateKey;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Bouncy Castle's PEM parsing. Only touched after {@link PemKeys} found bcpkix on the class path (it is an optional
 * dependency), so this class never loads without it.
 */
final class BouncyCastlePem {
    private BouncyCastlePem() {
    }

    static PrivateKey readPrivateKey(Path file, String text) throws IOException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof PEMKeyPair) {
                    // SEC1 keys may omit the public key, so convert the private part alone
                    return converter.getPrivateKey(((PEMKeyPair) o).getPrivateKeyInfo());
                }
                if (o instanceof PrivateKeyInfo) {
                    return converter.getPrivateKey((PrivateKeyInfo) o);
                }
            }
        } catch (IOException e) {
            throw new IOException(file + ": not a readable PEM private key: " + e.getMessage(), e);
        }
        throw new IOException(file + ": holds no PEM private key");
    }
}

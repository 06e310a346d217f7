package io.streamproxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a private key from a PEM file: PKCS#8 with the JDK alone, anything Bouncy Castle's PEM parser understands
 * (SEC1 {@code EC PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY}) when bcpkix is on the class path.
 */
final class PemKeys {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
    private static final String[] KEY_ALGORITHMS = {"EC", "RSA", "Ed25519", "EdDSA", "DSA"};

    private static final boolean BOUNCY_CASTLE = hasBouncyCastle();

    private PemKeys() {
    }

    private static boolean hasBouncyCastle() {
        try {
            Class.forName("org.bouncycastle.openssl.PEMParser", false, PemKeys.class.getClassLoader());
            Class.forName("org.bouncycastle.jce.provider.BouncyCastleProvider", false, PemKeys.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    static PrivateKey read(Path file) throws IOException {
        return read(file, BOUNCY_CASTLE);
    }

    /** Reads a key, using Bouncy Castle only when told it is present (tests pass false to see the JDK path). */
    static PrivateKey read(Path file, boolean bouncyCastle) throws IOException {
        String text = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
        if (bouncyCastle) {
            return BouncyCastlePem.readPrivateKey(file, text);
        }
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            if (type.equals("PRIVATE KEY")) {
                return pkcs8(file, Base64.getMimeDecoder().decode(m.group(2)));
            }
            if (type.endsWith("PRIVATE KEY")) {
                throw new IOException(file + ": a '" + type + "' key needs Bouncy Castle: add "
                        + "org.bouncycastle:bcpkix-jdk18on to the class path, or convert the key with "
                        + "'openssl pkcs8 -topk8 -nocrypt -in " + file.getFileName() + " -out key-pkcs8.pem'");
            }
        }
        throw new IOException(file + ": holds no PEM private key");
    }

    private static PrivateKey pkcs8(Path file, byte[] der) throws IOException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String alg : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IOException(file + ": a PKCS#8 key of an algorithm this JDK does not know");
    }
}

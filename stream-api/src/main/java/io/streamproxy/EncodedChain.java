package io.streamproxy;

import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.util.Arrays;

/**
 * A certificate chain by its exact encoding (and a label, such as the key type it was checked for), as a map key:
 * equal only when every certificate is equal byte for byte. Reading the encoding does not parse a certificate.
 */
final class EncodedChain {
    private final byte[][] encoded;
    private final String label;
    private final int hash;

    private EncodedChain(byte[][] encoded, String label) {
        this.encoded = encoded;
        this.label = label;
        this.hash = 31 * Arrays.deepHashCode(encoded) + label.hashCode();
    }

    /**
     * The key of {@code chain}, or null when it is empty or cannot be encoded (its checks then run in full).
     *
     * @param chain the certificates
     * @param label what else the key holds
     * @return the key, or null
     */
    static EncodedChain of(Certificate[] chain, String label) {
        if (chain == null || chain.length == 0 || label == null) {
            return null;
        }
        byte[][] encoded = new byte[chain.length][];
        try {
            for (int i = 0; i < chain.length; i++) {
                encoded[i] = chain[i].getEncoded();
            }
        } catch (CertificateEncodingException | RuntimeException e) {
            return null;
        }
        return new EncodedChain(encoded, label);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof EncodedChain)) {
            return false;
        }
        EncodedChain other = (EncodedChain) o;
        return other.hash == hash && other.label.equals(label) && Arrays.deepEquals(other.encoded, encoded);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}

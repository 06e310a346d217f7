package io.streamproxy;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

/**
 * When every certificate of a chain is valid: the latest notBefore and the earliest notAfter, kept so that a chain
 * met again is not parsed again (Netty hands a chain over as certificates that parse themselves on first use).
 */
final class ChainValidity {
    /** Chains whose dates were read. */
    private static final ChainMemo<ChainValidity> SEEN = new ChainMemo<>("dates");

    final long notBefore;
    final long notAfter;

    private ChainValidity(long notBefore, long notAfter) {
        this.notBefore = notBefore;
        this.notAfter = notAfter;
    }

    /** Reads the dates of every certificate (parsing each). */
    static ChainValidity of(X509Certificate[] chain) {
        long notBefore = Long.MIN_VALUE;
        long notAfter = Long.MAX_VALUE;
        for (X509Certificate c : chain) {
            notBefore = Math.max(notBefore, c.getNotBefore().getTime());
            notAfter = Math.min(notAfter, c.getNotAfter().getTime());
        }
        return new ChainValidity(notBefore, notAfter);
    }

    boolean validAt(long epochMillis) {
        return epochMillis >= notBefore && epochMillis <= notAfter;
    }

    /**
     * Why a peer chain is not within its dates at {@code epochMillis}, or null when it is or has no X.509
     * certificate; a chain met before is judged by the dates remembered for its encoding.
     */
    static String outsideDates(Certificate[] chain, long epochMillis) {
        if (chain == null || chain.length == 0) {
            return null;
        }
        X509Certificate[] x509 = new X509Certificate[chain.length];
        for (int i = 0; i < chain.length; i++) {
            if (!(chain[i] instanceof X509Certificate)) {
                return null;
            }
            x509[i] = (X509Certificate) chain[i];
        }
        ChainValidity v = SEEN.get(chain, c -> of(x509));
        if (v.validAt(epochMillis)) {
            return null;
        }
        for (X509Certificate c : x509) { // the chain is outside its dates: name the certificate that is
            if (epochMillis < c.getNotBefore().getTime() || epochMillis > c.getNotAfter().getTime()) {
                return "client certificate " + c.getSubjectX500Principal().getName() + " is valid from "
                        + c.getNotBefore().toInstant() + " to " + c.getNotAfter().toInstant() + ", not now";
            }
        }
        return "client chain is not valid now";
    }
}

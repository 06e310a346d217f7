package io.streamproxy;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * Says which peer certificate a trust manager refused and why, so that a mutual-TLS failure can be diagnosed from the
 * message alone, on the side that refused (the server's refusal detail, the client's error): the refused
 * certificate's subject and issuer, the JDK's reason and, when the chain does not reach a trusted CA, the CAs
 * trusted here, with a hint when one of them has the issuer's name but did not sign it (two CAs made with the same
 * name); and classifies the refusal ({@link CertificateRefusedException.Reason}). The JDK's exception stays the cause
 * (its {@link CertPathValidatorException}, when there is one, the direct cause), so that the JDK's engines choose
 * the same alert as before.
 */
final class ChainRefusal {
    private static final int MAX_NAME = 200;
    /** The JDK's words may quote the peer's certificate (its names, say): bounded too. */
    private static final int MAX_REASON = 600;
    private static final int MAX_TRUSTED_NAMED = 3;

    private ChainRefusal() {
    }

    /**
     * Describes a refused chain.
     *
     * @param role    {@code client} or {@code server}: whose certificate was refused
     * @param chain   the peer's chain, leaf first (may be empty or null)
     * @param trusted the CAs trusted here
     * @param e       what the JDK's check threw
     * @return the exception to throw instead
     */
    static CertificateRefusedException of(String role, X509Certificate[] chain, X509Certificate[] trusted,
            CertificateException e) {
        StringBuilder m = new StringBuilder();
        CertificateRefusedException.Reason reason = reason(e);
        if (chain == null || chain.length == 0) {
            m.append(role).append(" sent no certificate: ").append(bounded(e.getMessage(), MAX_REASON));
            return refused(reason, m.toString(), e);
        }
        X509Certificate leaf = chain[0];
        X500Principal topIssuer = chain[chain.length - 1].getIssuerX500Principal();
        m.append(role).append(" certificate \"").append(name(leaf.getSubjectX500Principal()))
                .append("\" issued by \"").append(name(leaf.getIssuerX500Principal())).append("\" refused: ")
                .append(bounded(e.getMessage(), MAX_REASON));
        if (reason == CertificateRefusedException.Reason.UNTRUSTED_ISSUER) {
            List<String> names = new ArrayList<>();
            boolean sameName = false;
            for (X509Certificate ca : trusted) {
                sameName |= ca.getSubjectX500Principal().equals(topIssuer);
                if (names.size() < MAX_TRUSTED_NAMED) {
                    names.add("\"" + name(ca.getSubjectX500Principal()) + "\"");
                }
            }
            m.append("; trusted here: ").append(names.isEmpty() ? "no CA" : String.join(", ", names));
            if (trusted.length > names.size()) {
                m.append(" and ").append(trusted.length - names.size()).append(" more");
            }
            if (sameName) {
                m.append(" (a trusted CA has the name \"").append(name(topIssuer))
                        .append("\" but did not sign it: the two sides hold different CAs of the same name)");
            }
        }
        return refused(reason, m.toString(), e);
    }

    private static CertificateRefusedException refused(CertificateRefusedException.Reason reason, String message,
            CertificateException e) {
        Throwable cause = e.getCause() instanceof CertPathValidatorException ? e.getCause() : e;
        return new CertificateRefusedException(reason, message, cause);
    }

    /**
     * Classifies the JDK's refusal: no path to a trust anchor (the JDK's builder found none, or the validator says
     * so, or a signature in the path failed, which with a trusted CA of the issuer's name means another key signed
     * it, as Go reports "signed by unknown authority"); dates; revocation; anything else.
     */
    static CertificateRefusedException.Reason reason(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof CertificateExpiredException || c instanceof CertificateNotYetValidException) {
                return CertificateRefusedException.Reason.OUTSIDE_VALIDITY;
            }
            if (c instanceof CertPathBuilderException) {
                return CertificateRefusedException.Reason.UNTRUSTED_ISSUER;
            }
            if (c instanceof CertPathValidatorException) {
                CertPathValidatorException.Reason r = ((CertPathValidatorException) c).getReason();
                if (r == PKIXReason.NO_TRUST_ANCHOR || r == CertPathValidatorException.BasicReason.INVALID_SIGNATURE) {
                    return CertificateRefusedException.Reason.UNTRUSTED_ISSUER;
                }
                if (r == CertPathValidatorException.BasicReason.EXPIRED
                        || r == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                    return CertificateRefusedException.Reason.OUTSIDE_VALIDITY;
                }
                if (r == CertPathValidatorException.BasicReason.REVOKED) {
                    return CertificateRefusedException.Reason.REVOKED;
                }
            }
        }
        return CertificateRefusedException.Reason.OTHER;
    }

    /** A name as RFC 2253 text, cut to a bound: it comes from an unauthenticated peer. */
    private static String name(X500Principal p) {
        return bounded(p.getName(X500Principal.RFC2253), MAX_NAME);
    }

    /** Text cut to {@code max} characters, control characters replaced. */
    private static String bounded(String text, int max) {
        String s = String.valueOf(text);
        StringBuilder b = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char ch = s.charAt(i);
            b.append(Character.isISOControl(ch) ? '?' : ch);
        }
        return s.length() > max ? b + "..." : b.toString();
    }
}

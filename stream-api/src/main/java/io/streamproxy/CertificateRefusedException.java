package io.streamproxy;

import java.security.cert.CertificateException;

/**
 * A peer's certificate chain was refused by the trust manager of {@link TlsCredentials#trustManager()}: the message
 * names the refused certificate (subject and issuer), the JDK's reason and, when the chain reaches no trusted CA, the
 * CAs trusted on this side; {@link #reason()} classifies the refusal, for a TLS stack that has to choose the alert to
 * send (unknown_ca, certificate_expired, certificate_revoked or bad_certificate, as Go's crypto/tls chooses them). The
 * JDK's own exception is the cause.
 */
public final class CertificateRefusedException extends CertificateException {
    private static final long serialVersionUID = 1L;

    /** Why a chain was refused, with the TLS alert Go's crypto/tls answers that refusal with. */
    public enum Reason {
        /** The chain does not reach a trusted CA (no CA of its issuer's name, or one that did not sign it). */
        UNTRUSTED_ISSUER(48),
        /** A certificate of the chain is expired or not yet valid. */
        OUTSIDE_VALIDITY(45),
        /** A certificate of the chain is revoked. */
        REVOKED(44),
        /** Anything else: a wrong extended key usage, a name that does not match, a malformed certificate. */
        OTHER(42);

        /** The alert's number. */
        private final int alert;

        Reason(int alert) {
            this.alert = alert;
        }

        /**
         * Returns the alert to send: unknown_ca (48), certificate_expired (45), certificate_revoked (44) or
         * bad_certificate (42).
         *
         * @return the alert's number in the TLS registry
         */
        public int alert() {
            return alert;
        }
    }

    /** Why the chain was refused. */
    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason  why the chain was refused
     * @param message what was refused and why
     * @param cause   the JDK's exception
     */
    public CertificateRefusedException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /**
     * Returns why the chain was refused.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }
}

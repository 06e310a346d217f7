package io.streamproxy.protocol;

import io.streamproxy.StreamProxyException;

/**
 * A received header failed validation. {@link #check()} names the check that failed, so that a server can report
 * the reason and a test can tell the cases apart.
 */
public final class InvalidHeaderException extends StreamProxyException {
    private static final long serialVersionUID = 1L;

    /** The checks a header must pass, in the order they are made. */
    public enum Check {
        /** The header is not exactly 275 bytes (a short stream, or a first DTLS record of another length). */
        SIZE,
        /** The version field is not {@code 0.1.0} with NUL padding. */
        VERSION,
        /** The port length field is over 5. */
        PORT_LENGTH,
        /** The CRC-32 over bytes 0..270 does not match bytes 271..274. */
        CHECKSUM,
        /** The port is not a decimal number in 1..65535 (checked only for headers that are not health probes). */
        PORT_NUMBER
    }

    /** The first check the header failed. */
    private final Check check;

    /**
     * Creates the exception.
     *
     * @param check   the failed check
     * @param message details
     */
    public InvalidHeaderException(Check check, String message) {
        super(message);
        this.check = check;
    }

    /**
     * Returns which check failed.
     *
     * @return the check
     */
    public Check check() {
        return check;
    }
}

package io.streamproxy;

/**
 * A health probe failed. {@link #failure()} classifies the cause so that monitoring can tell a refused certificate
 * from a silent or unreachable server.
 */
public class HealthProbeException extends StreamProxyException {
    private static final long serialVersionUID = 1L;

    /** The classes of probe failure. */
    public enum Failure {
        /** The server refused this client's certificate (or the client refused the server's). */
        CERTIFICATE_REFUSED,
        /** The server did not answer within the probe timeout. */
        TIMEOUT,
        /** The TLS or DTLS handshake failed for another reason. */
        HANDSHAKE_FAILED,
        /** Nothing listens at the server address, or the network refused the connection. */
        CONNECTION_REFUSED,
        /** The server answered the probe with data or in another way the protocol does not allow. */
        PROTOCOL_ERROR,
        /**
         * The server is draining (shutting down) and admits no new tunnel: this project's servers answer a TCP probe
         * then with a reset instead of a quiet close, and a new DTLS client's handshake with alert
         * {@code user_canceled}.
         */
        UNAVAILABLE
    }

    /** The class of failure. */
    private final Failure failure;

    /**
     * Creates the exception.
     *
     * @param failure the class of failure
     * @param message what failed
     * @param cause   the underlying failure, or null
     */
    public HealthProbeException(Failure failure, String message, Throwable cause) {
        super(message, cause);
        this.failure = failure;
    }

    /**
     * Returns the class of failure.
     *
     * @return the failure class
     */
    public Failure failure() {
        return failure;
    }
}

package io.streamproxy;

/**
 * No transport on the class path fits the request: none offers the protocol, the one named is missing, or every
 * candidate is unavailable. The message names what was found and which artifact to add.
 */
public class TransportNotFoundException extends StreamProxyException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was asked for, what was found, and what to add
     */
    public TransportNotFoundException(String message) {
        super(message);
    }
}

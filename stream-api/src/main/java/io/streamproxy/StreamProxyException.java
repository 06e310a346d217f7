package io.streamproxy;

import java.io.IOException;

/**
 * The root of the exceptions this library throws for tunnel failures that are not plain socket errors. It is an
 * {@link IOException}, so callers that already handle I/O failures handle these too.
 */
public class StreamProxyException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed
     */
    public StreamProxyException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed
     * @param cause   the underlying failure
     */
    public StreamProxyException(String message, Throwable cause) {
        super(message, cause);
    }
}

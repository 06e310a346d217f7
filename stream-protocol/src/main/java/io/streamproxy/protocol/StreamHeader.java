package io.streamproxy.protocol;

import io.streamproxy.Destination;

/**
 * A decoded or to-be-encoded header: host and port as the text they are on the wire, and the flag byte. A header
 * from {@link HeaderCodec#decode} has passed every check of {@link InvalidHeaderException.Check}.
 *
 * @param host  the host, without brackets; empty in a health probe
 * @param port  the port as decimal text; empty in a health probe
 * @param flags the flag byte, 0..255
 */
public record StreamHeader(String host, String port, int flags) {

    /**
     * Tells whether flag bit 0 (close immediately) is set.
     *
     * @return true for a health probe
     */
    public boolean isHealthProbe() {
        return (flags & StreamProtocol.FLAG_CLOSE_IMMEDIATELY) != 0;
    }

    /**
     * Returns the destination this header names.
     *
     * @return the destination
     * @throws IllegalArgumentException if host or port do not make a destination (empty host, port out of range)
     */
    public Destination destination() {
        int p;
        try {
            p = HeaderCodec.parsePort(port);
        } catch (InvalidHeaderException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new Destination(host, p);
    }
}

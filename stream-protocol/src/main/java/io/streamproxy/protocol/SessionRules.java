package io.streamproxy.protocol;

import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.RefusalReason;
import java.nio.ByteBuffer;

/**
 * The server's rule for a received header, free of I/O so that every transport applies it alike: an invalid header
 * is refused, a health probe closes quietly, a header naming no usable destination (a port outside 1..65535, a host
 * that {@link HostSyntax} refuses, such as {@code 127.1}) is refused, a destination the policy does not allow by
 * name is refused, and anything else goes on to be resolved. {@link TunnelSession} applies it; the addresses are
 * judged there, once resolved.
 */
public final class SessionRules {
    private SessionRules() {
    }

    /**
     * Decides what to do with the bytes received as a header.
     *
     * @param header the received bytes (exactly 275 to be valid); the position is not moved
     * @param policy the server's destination policy
     * @return the decision
     */
    public static SessionDecision decide(ByteBuffer header, DestinationPolicy policy) {
        StreamHeader decoded;
        try {
            decoded = HeaderCodec.decode(header);
        } catch (InvalidHeaderException e) {
            RefusalReason reason = e.check() == InvalidHeaderException.Check.PORT_NUMBER
                    ? RefusalReason.BAD_DESTINATION : RefusalReason.INVALID_HEADER;
            return SessionDecision.refuse(reason, e.getMessage());
        }
        return decide(decoded, policy);
    }

    /**
     * Decides what to do with a decoded header.
     *
     * @param header the validated header
     * @param policy the server's destination policy
     * @return the decision
     */
    public static SessionDecision decide(StreamHeader header, DestinationPolicy policy) {
        if (header.isHealthProbe()) {
            return SessionDecision.closeQuietly();
        }
        Destination destination;
        try {
            destination = header.destination();
            HostSyntax.parse(destination.host());
        } catch (IllegalArgumentException e) {
            return SessionDecision.refuse(RefusalReason.BAD_DESTINATION, e.getMessage());
        }
        boolean allowed;
        try {
            allowed = policy.allows(destination);
        } catch (RuntimeException e) {
            return SessionDecision.refuse(RefusalReason.POLICY_DENIED,
                    "destination policy failed on " + destination + ": " + e);
        }
        if (!allowed) {
            return SessionDecision.refuse(RefusalReason.POLICY_DENIED, destination + " is not allowed by policy");
        }
        return SessionDecision.dial(destination);
    }
}

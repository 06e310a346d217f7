package io.streamproxy;

/**
 * Decides which destinations a server may dial. It is asked once per session, after the header is validated and
 * before anything is dialled; a destination it does not allow is refused with
 * {@link RefusalReason#POLICY_DENIED}. The default, {@link #allowAll()}, matches the original agent.
 */
@FunctionalInterface
public interface DestinationPolicy {

    /**
     * Tells whether the server may dial this destination.
     *
     * @param destination the destination named in the header
     * @return true to dial, false to refuse
     */
    boolean allows(Destination destination);

    /**
     * Returns the policy that allows every destination (the original agent's behaviour).
     *
     * @return a policy that always allows
     */
    static DestinationPolicy allowAll() {
        return destination -> true;
    }
}

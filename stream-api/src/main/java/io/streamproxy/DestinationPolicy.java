package io.streamproxy;

import java.net.InetAddress;

/**
 * Decides which destinations a server may dial, judging what is really dialled. It is asked twice per session:
 * first {@link #allows(Destination)} with the destination named in the header (after the header is validated and
 * the host has passed the project's strict host syntax, and before any lookup), then
 * {@link #allows(Destination, InetAddress)} for each address that destination resolves to (an IP literal "resolves"
 * to itself). Only addresses it allows are dialled, in the order the resolver gave them, and nothing is resolved a
 * second time; a session whose every address is refused ends with {@link RefusalReason#POLICY_DENIED}. A server
 * asks the forms that also take the authenticated {@link ClientIdentity}, which by default ignore it and ask the
 * forms without; a policy that decides per client overrides those. The default, {@link #allowAll()}, matches the
 * original agent.
 */
@FunctionalInterface
public interface DestinationPolicy {

    /**
     * Tells whether the server may go on with the destination named in the header (for a name: look it up).
     * Rules on names belong here; a policy that only judges addresses returns true.
     *
     * @param destination the destination named in the header
     * @return true to go on, false to refuse without resolving
     */
    boolean allows(Destination destination);

    /**
     * Tells whether the server may dial one resolved address of a destination. Rules on addresses (CIDR ranges)
     * belong here. An IPv4-mapped IPv6 address arrives as the {@link java.net.Inet4Address} it maps to.
     *
     * @param destination the destination named in the header, already allowed by {@link #allows(Destination)}
     * @param address     an address it resolved to, about to be dialled on {@code destination.port()}
     * @return true to dial it, false to skip it
     */
    default boolean allows(Destination destination, InetAddress address) {
        return true;
    }

    /**
     * Tells whether the server may go on with the destination named in the header by this client. The server asks
     * this form; by default it ignores the client and asks {@link #allows(Destination)}.
     *
     * @param destination the destination named in the header
     * @param client      who the client is, from its certificate; null if unknown
     * @return true to go on, false to refuse without resolving
     */
    default boolean allows(Destination destination, ClientIdentity client) {
        return allows(destination);
    }

    /**
     * Tells whether the server may dial one resolved address of a destination for this client. The server asks
     * this form; by default it ignores the client and asks {@link #allows(Destination, InetAddress)}.
     *
     * @param destination the destination named in the header
     * @param address     an address it resolved to
     * @param client      who the client is, from its certificate; null if unknown
     * @return true to dial it, false to skip it
     */
    default boolean allows(Destination destination, InetAddress address, ClientIdentity client) {
        return allows(destination, address);
    }

    /**
     * Returns the policy that allows every destination (the original agent's behaviour).
     *
     * @return a policy that always allows
     */
    static DestinationPolicy allowAll() {
        return destination -> true;
    }
}

package io.streamproxy;

import java.time.Duration;

/**
 * How an opened session ended, for {@link SessionListener#sessionEnded}: how long it relayed, what it moved each
 * way (bytes; for UDP also datagrams), which side ended its direction first and why the session ended.
 *
 * @param duration                 from the start of relaying to the end
 * @param bytesToDestination       payload bytes relayed from the client to the destination
 * @param bytesFromDestination     payload bytes relayed from the destination to the client
 * @param datagramsToDestination   UDP: datagrams relayed to the destination (0 on TCP)
 * @param datagramsFromDestination UDP: datagrams relayed back (0 on TCP)
 * @param endedFirst               the side that ended its direction first, or null when neither did before the end
 *                                 (a reset, an idle timeout, the server closing)
 * @param reason                   why the session ended, a short text
 */
public record SessionEnd(Duration duration, long bytesToDestination, long bytesFromDestination,
                         long datagramsToDestination, long datagramsFromDestination, Side endedFirst,
                         String reason) {

    /** A side of a tunnel. */
    public enum Side {
        /** The tunnel's client. */
        CLIENT,
        /** The destination the server dialled. */
        DESTINATION
    }
}

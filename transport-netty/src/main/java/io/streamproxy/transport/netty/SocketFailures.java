package io.streamproxy.transport.netty;

import io.netty.channel.ChannelException;

/**
 * Names a socket that could not be made by the socket's own failure. Netty reports a channel it could not construct
 * as "Unable to create Channel from class ...", with what the system said (out of file descriptors, EMFILE or
 * ENFILE) at the root of its causes; the servers' dials (a TCP destination, a UDP destination socket) and the
 * forward's tunnel report that root.
 */
final class SocketFailures {
    private SocketFailures() {
    }

    /** The failure to report for {@code cause}: the root cause of a {@link ChannelException}, else cause itself. */
    static Throwable reported(Throwable cause) {
        if (!(cause instanceof ChannelException)) {
            return cause;
        }
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }

    /** The reported failure in words: its message, else its class. */
    static String words(Throwable cause) {
        Throwable reported = reported(cause);
        return reported.getMessage() != null ? reported.getMessage() : reported.toString();
    }
}

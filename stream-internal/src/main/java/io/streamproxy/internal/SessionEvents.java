package io.streamproxy.internal;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener every transport hands to its {@link io.streamproxy.protocol.SessionCore}: it passes each event to
 * the server's own {@link SessionListener} (one that throws is logged and ignored) and logs it the same way for
 * every transport. Only what the operator must act on is a warning: a dial that failed for an authenticated client,
 * at most 10 in 10 s (a {@link WarningBudget}; a client that reconnects in a loop to a destination that is down would
 * otherwise log thousands a second), the rest at debug and counted in the next warning.
 * What an unauthenticated peer can trigger (handshake failures, timeouts, bad headers, capacity) is counted by the
 * listener and logged at debug, never line by line at a level that floods a log; probes and normal closes are not
 * errors. Internal: not API.
 */
public final class SessionEvents implements SessionListener {
    private static final Logger LOG = LoggerFactory.getLogger(SessionEvents.class);

    private final SessionListener listener;
    /** Dial failures: 10 warnings per 10 s, the rest at debug and counted (a client in a reconnect loop). */
    private final WarningBudget dialWarnings = new WarningBudget(10, java.util.concurrent.TimeUnit.SECONDS.toNanos(10));

    private SessionEvents(SessionListener listener) {
        this.listener = listener;
    }

    /**
     * Wraps a server's listener.
     *
     * @param listener the user's listener
     * @return the reporting listener
     */
    public static SessionListener reporting(SessionListener listener) {
        return listener instanceof SessionEvents ? listener : new SessionEvents(listener);
    }

    @Override
    public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        WarningBudget.Spent spent = reason == RefusalReason.DIAL_FAILED ? dialWarnings.spend(System.nanoTime())
                : null;
        if (spent != null && spent.warn()) {
            if (spent.debugSince() > 0) {
                LOG.warn("{} more dial failures were logged at debug since the last warning", spent.debugSince());
            }
            LOG.warn("{} session from {} refused: {} ({}){}", protocol, client, reason, printable(detail),
                    spent.last() ? "; the next ones within " + dialWarnings.window() + " are logged at debug" : "");
        } else {
            LOG.debug("{} session from {} refused: {} ({})", protocol, client, reason, printable(detail));
        }
        try {
            listener.sessionRefused(protocol, client, reason, detail);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void sessionOpened(SessionInfo session) {
        LOG.debug("{} session {} from {} to {} opened", session.protocol(), session.id(), session.client(),
                printable(String.valueOf(session.destination())));
        try {
            listener.sessionOpened(session);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void sessionClosed(SessionInfo session, long bytesToDestination, long bytesFromDestination) {
        LOG.debug("{} session {} closed: {} bytes up, {} bytes down", session.protocol(), session.id(),
                bytesToDestination, bytesFromDestination);
        try {
            listener.sessionClosed(session, bytesToDestination, bytesFromDestination);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void sessionEnded(SessionInfo session, SessionEnd end) {
        LOG.debug("{} session {} ended ({}): {} bytes up, {} bytes down", session.protocol(), session.id(),
                printable(end.reason()), end.bytesToDestination(), end.bytesFromDestination());
        try {
            listener.sessionEnded(session, end);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
        try {
            listener.handshakeCompleted(protocol, client, resumed);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void healthProbe(Protocol protocol, SocketAddress client) {
        LOG.debug("{} health probe from {}", protocol, client);
        try {
            listener.healthProbe(protocol, client);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void datagramDropped(SessionInfo session, int size, String reason) {
        LOG.debug("UDP session {}: {}-byte datagram dropped: {}", session.id(), size, reason);
        try {
            listener.datagramDropped(session, size, reason);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    @Override
    public void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
        // counted by the listener, not logged: an unauthenticated peer can send any number
        try {
            listener.unauthenticatedDropped(protocol, source, reason);
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    /**
     * Makes a text from a peer safe for one log line: control characters (CR, LF, ESC, ...) and other
     * non-printables become {@code \xNN} (or a backslash, u and four hex digits), and it is cut at 512 characters, so that a header
     * cannot forge log lines or flood them.
     *
     * @param text what a peer sent, or a detail that quotes it
     * @return the printable form
     */
    public static String printable(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder b = null;
        int n = Math.min(text.length(), 512);
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            boolean bad = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || Character.isSurrogate(c)
                    || c == '\u2028' || c == '\u2029';
            if (bad && b == null) {
                b = new StringBuilder(n + 16).append(text, 0, i);
            }
            if (b != null) {
                if (bad) {
                    b.append(c < 0x100 ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
        }
        String out = b == null ? text.substring(0, n) : b.toString();
        return text.length() > n ? out + "..." : out;
    }
}

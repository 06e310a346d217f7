package io.streamproxy.protocol;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports a server's session events to its {@link SessionListener} and the log, the same way for every transport:
 * a listener that throws is logged and ignored; refusals the operator must act on (dial failures, capacity) are
 * warnings, the others (bad clients, probes of the limits) are informational; probes and normal closes are not
 * errors.
 */
public final class SessionEvents {
    private static final Logger LOG = LoggerFactory.getLogger(SessionEvents.class);

    private final SessionListener listener;

    /**
     * Creates the reporter.
     *
     * @param listener the server's listener
     */
    public SessionEvents(SessionListener listener) {
        this.listener = listener;
    }

    /**
     * A connection or session was refused.
     *
     * @param protocol TCP or UDP
     * @param client   the client's address
     * @param reason   why
     * @param detail   details
     */
    public void refused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        if (reason == RefusalReason.DIAL_FAILED || reason == RefusalReason.CAPACITY) {
            LOG.warn("{} session from {} refused: {} ({})", protocol, client, reason, detail);
        } else {
            LOG.info("{} session from {} refused: {} ({})", protocol, client, reason, detail);
        }
        call(() -> listener.sessionRefused(protocol, client, reason, detail));
    }

    /**
     * A session was opened.
     *
     * @param session the session
     */
    public void opened(SessionInfo session) {
        LOG.debug("{} session {} from {} to {} opened", session.protocol(), session.id(), session.client(),
                session.destination());
        call(() -> listener.sessionOpened(session));
    }

    /**
     * A session was closed.
     *
     * @param session              the session
     * @param why                  the reason, for the log
     * @param bytesToDestination   bytes relayed to the destination
     * @param bytesFromDestination bytes relayed back
     */
    public void closed(SessionInfo session, String why, long bytesToDestination, long bytesFromDestination) {
        LOG.debug("{} session {} closed ({}): {} bytes up, {} bytes down", session.protocol(), session.id(), why,
                bytesToDestination, bytesFromDestination);
        call(() -> listener.sessionClosed(session, bytesToDestination, bytesFromDestination));
    }

    /**
     * A health probe was answered by closing quietly.
     *
     * @param protocol TCP or UDP
     * @param client   the prober
     */
    public void probe(Protocol protocol, SocketAddress client) {
        LOG.debug("{} health probe from {}", protocol, client);
        call(() -> listener.healthProbe(protocol, client));
    }

    /**
     * A datagram was dropped.
     *
     * @param session the session
     * @param size    its size
     * @param reason  why
     */
    public void dropped(SessionInfo session, int size, String reason) {
        LOG.debug("UDP session {}: {}-byte datagram dropped: {}", session.id(), size, reason);
        call(() -> listener.datagramDropped(session, size, reason));
    }

    private static void call(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }
}

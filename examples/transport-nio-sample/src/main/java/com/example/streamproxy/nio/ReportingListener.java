package com.example.streamproxy.nio;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener the server hands to its session core: it logs each event (at debug: what a stranger can cause is no
 * error, and a probe is not one either; a failed dial for an authenticated client is a warning) and passes it to the
 * user's listener, which may throw without harm.
 */
final class ReportingListener implements SessionListener {
    private static final Logger LOG = LoggerFactory.getLogger(ReportingListener.class);

    private final SessionListener user;
    private final boolean probesAreErrors;

    ReportingListener(SessionListener user, boolean probesAreErrors) {
        this.user = user;
        this.probesAreErrors = probesAreErrors;
    }

    @Override
    public void sessionOpened(SessionInfo session) {
        LOG.debug("session {} from {} to {} opened", session.id(), session.client(), session.destination());
        call(() -> user.sessionOpened(session));
    }

    @Override
    public void sessionClosed(SessionInfo session, long bytesToDestination, long bytesFromDestination) {
        LOG.debug("session {} closed: {} bytes up, {} down", session.id(), bytesToDestination, bytesFromDestination);
        call(() -> user.sessionClosed(session, bytesToDestination, bytesFromDestination));
    }

    @Override
    public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        if (reason == RefusalReason.DIAL_FAILED) {
            LOG.warn("session from {} refused: {} ({})", client, reason, detail);
        } else {
            LOG.debug("session from {} refused: {} ({})", client, reason, detail);
        }
        call(() -> user.sessionRefused(protocol, client, reason, detail));
    }

    @Override
    public void healthProbe(Protocol protocol, SocketAddress client) {
        if (probesAreErrors) {
            LOG.error("health probe from {}", client);
        } else {
            LOG.debug("health probe from {}", client);
        }
        call(() -> user.healthProbe(protocol, client));
    }

    @Override
    public void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
        call(() -> user.handshakeCompleted(protocol, client, resumed));
    }

    private static void call(Runnable event) {
        try {
            event.run();
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }
}

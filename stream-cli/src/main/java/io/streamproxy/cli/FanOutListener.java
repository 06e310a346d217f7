package io.streamproxy.cli;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.net.SocketAddress;
import java.util.List;

/** Hands every session event to several listeners in order (metrics, then the access log). */
final class FanOutListener implements SessionListener {
    private final List<SessionListener> listeners;

    FanOutListener(List<SessionListener> listeners) {
        this.listeners = List.copyOf(listeners);
    }

    @Override
    public void sessionOpened(SessionInfo session) {
        for (SessionListener l : listeners) {
            l.sessionOpened(session);
        }
    }

    @Override
    public void sessionClosed(SessionInfo session, long bytesToDestination, long bytesFromDestination) {
        for (SessionListener l : listeners) {
            l.sessionClosed(session, bytesToDestination, bytesFromDestination);
        }
    }

    @Override
    public void sessionEnded(SessionInfo session, SessionEnd end) {
        for (SessionListener l : listeners) {
            l.sessionEnded(session, end);
        }
    }

    @Override
    public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        for (SessionListener l : listeners) {
            l.sessionRefused(protocol, client, reason, detail);
        }
    }

    @Override
    public void datagramDropped(SessionInfo session, int size, String reason) {
        for (SessionListener l : listeners) {
            l.datagramDropped(session, size, reason);
        }
    }

    @Override
    public void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
        for (SessionListener l : listeners) {
            l.unauthenticatedDropped(protocol, source, reason);
        }
    }

    @Override
    public void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
        for (SessionListener l : listeners) {
            l.handshakeCompleted(protocol, client, resumed);
        }
    }

    @Override
    public void healthProbe(Protocol protocol, SocketAddress client) {
        for (SessionListener l : listeners) {
            l.healthProbe(protocol, client);
        }
    }
}

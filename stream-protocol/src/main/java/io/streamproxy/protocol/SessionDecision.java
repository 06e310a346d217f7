package io.streamproxy.protocol;

import io.streamproxy.Destination;
import io.streamproxy.RefusalReason;
import java.util.Objects;

/**
 * What a server does with a received header: dial a destination, close quietly (health probe), or refuse with a
 * reason. Made by {@link SessionRules#decide}.
 */
public final class SessionDecision {
    /** The three outcomes. */
    public enum Action {
        /** Dial {@link #destination()} and relay. */
        DIAL,
        /** Close without dialling and without logging an error: a health probe. */
        CLOSE_QUIETLY,
        /** Close without dialling, reporting {@link #reason()}. */
        REFUSE
    }

    private static final SessionDecision CLOSE_QUIETLY = new SessionDecision(Action.CLOSE_QUIETLY, null, null, "");

    private final Action action;
    private final Destination destination;
    private final RefusalReason reason;
    private final String detail;

    private SessionDecision(Action action, Destination destination, RefusalReason reason, String detail) {
        this.action = action;
        this.destination = destination;
        this.reason = reason;
        this.detail = detail;
    }

    static SessionDecision dial(Destination destination) {
        return new SessionDecision(Action.DIAL, Objects.requireNonNull(destination), null, "");
    }

    static SessionDecision closeQuietly() {
        return CLOSE_QUIETLY;
    }

    static SessionDecision refuse(RefusalReason reason, String detail) {
        return new SessionDecision(Action.REFUSE, null, Objects.requireNonNull(reason), detail);
    }

    /** @return what to do */
    public Action action() {
        return action;
    }

    /** @return the destination to dial, or null unless the action is {@link Action#DIAL} */
    public Destination destination() {
        return destination;
    }

    /** @return why the session is refused, or null unless the action is {@link Action#REFUSE} */
    public RefusalReason reason() {
        return reason;
    }

    /** @return a human-readable detail, empty when there is none */
    public String detail() {
        return detail;
    }

    @Override
    public String toString() {
        switch (action) {
            case DIAL:
                return "dial " + destination;
            case CLOSE_QUIETLY:
                return "close quietly (health probe)";
            default:
                return "refuse " + reason + ": " + detail;
        }
    }
}

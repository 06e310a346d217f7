package io.streamproxy.transport.bc;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;

/**
 * What a Bouncy Castle peer (client or server side) needs to remember of alerts: whether the other side sent
 * close_notify (Bouncy Castle does not wake a waiting receive for it), and the last fatal alert, for messages.
 */
final class BcAlerts {
    private volatile boolean closeNotifyReceived;
    private volatile String lastFatal;

    void received(short level, short description, String prefix) {
        if (description == AlertDescription.close_notify) {
            closeNotifyReceived = true;
        } else if (level == AlertLevel.fatal) {
            lastFatal = prefix + AlertDescription.getText(description);
        }
    }

    void raised(short level, short description, String message, Throwable cause) {
        if (level == AlertLevel.fatal) {
            lastFatal = AlertDescription.getText(description) + (message != null ? ": " + message : "")
                    + (cause != null && cause.getMessage() != null ? " (" + cause.getMessage() + ")" : "");
        }
    }

    boolean closeNotifyReceived() {
        return closeNotifyReceived;
    }

    /** @return the last fatal alert raised or received, or null */
    String lastFatal() {
        return lastFatal;
    }
}

package io.streamproxy.internal;

import java.security.cert.CertificateException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a failed TLS or DTLS handshake the same way for every transport: the alert the peer sent, as the JDK
 * ("Received fatal alert: unknown_ca") and BoringSSL ("TLSV1_ALERT_UNKNOWN_CA") word it, and, for a server's refusal,
 * a reason an operator can act on (the refused client certificate's own message, the client's alert against this
 * server's certificate, or a client that sent no certificate) instead of an engine's generic words; for a client,
 * what the server's certificate alert means. Internal: not API.
 */
public final class HandshakeFailures {
    /**
     * How the JDK's engine words a received fatal {@code user_canceled} (its {@code Alert.AlertConsumer} names it
     * after close_notify; a close_notify of either level takes another branch and never reads so).
     */
    private static final String JDK_FATAL_USER_CANCELED = "received fatal close_notify alert";
    private static final Pattern RECEIVED_ALERT = Pattern.compile("(?:received fatal alert: |_alert_)([a-z_]+)");

    /** The alerts a peer refuses a certificate with, and what a server means by each when it refuses a client's. */
    private static final Map<String, String> REFUSED_CERTIFICATE_ALERTS = Map.of(
            "unknown_ca", "it does not trust the CA that issued this client's certificate",
            "certificate_expired", "this client's certificate is expired or not yet valid",
            "certificate_required", "this client sent no certificate: it holds none issued by a CA the server "
                    + "asked for",
            "bad_certificate", "it refused this client's certificate",
            "certificate_unknown", "it refused this client's certificate",
            "unsupported_certificate", "this client's certificate is not for client authentication",
            "certificate_revoked", "this client's certificate is revoked",
            "access_denied", "it denied this client's certificate access");

    /** How a worded refusal begins. */
    public static final String CERTIFICATE_REFUSED = "certificate refused: ";
    /** How {@link #wordedRefusal} begins the words for a draining server's {@code user_canceled}. */
    public static final String SERVER_DRAINING = "server draining: ";

    private HandshakeFailures() {
    }

    /**
     * Says, for a client, that the server refused its certificate and what the server's alert means, when the
     * failure holds such an alert.
     *
     * @param failure what the client's handshake or first read failed with
     * @return for example "the server answered with alert unknown_ca: it does not trust the CA that issued this
     *         client's certificate", or null when the server sent no certificate alert
     */
    public static String refusedByServer(Throwable failure) {
        String alert = receivedAlert(failure);
        String meaning = alert == null ? null : REFUSED_CERTIFICATE_ALERTS.get(alert);
        return meaning == null ? null : "the server answered with alert " + alert + ": " + meaning;
    }

    /**
     * Says, for a client, that the server canceled its handshake because it drains, when the failure holds the
     * {@code user_canceled} alert a draining server answers a new DTLS client with.
     *
     * @param failure what the client's handshake failed with
     * @return the words, or null when the server sent no such alert
     */
    public static String drainingServer(Throwable failure) {
        return "user_canceled".equals(receivedAlert(failure)) ? "the server canceled the handshake with alert "
                + "user_canceled: it is draining (shutting down) and admits no new session" : null;
    }

    /**
     * Words a client's failure that holds the server's certificate alert the way every forward logs it: an
     * {@link javax.net.ssl.SSLException} "certificate refused: the server answered with alert ...: ... (the
     * original message)", with the original as its cause; a draining server's {@code user_canceled} likewise as
     * "server draining: ..." ({@link #drainingServer}); any other failure is returned as it is.
     *
     * @param failure what the client's handshake or a read of its tunnel failed with
     * @return the worded failure, or {@code failure}
     */
    public static java.io.IOException wordedRefusal(java.io.IOException failure) {
        String refused = refusedByServer(failure);
        String draining = refused == null ? drainingServer(failure) : null;
        String was = String.valueOf(failure.getMessage());
        if (refused == null && draining == null || was.startsWith(CERTIFICATE_REFUSED)
                || was.startsWith(SERVER_DRAINING)) {
            return failure;
        }
        String message = (refused != null ? CERTIFICATE_REFUSED + refused : SERVER_DRAINING + draining) + " ("
                + was + ")";
        javax.net.ssl.SSLException worded = failure instanceof javax.net.ssl.SSLHandshakeException
                ? new javax.net.ssl.SSLHandshakeException(message) : new javax.net.ssl.SSLException(message);
        worded.initCause(failure);
        return worded;
    }

    /**
     * Returns the alert the peer sent, named as in RFC 8446 ({@code unknown_ca}), found in the failure's messages.
     *
     * @param failure what the handshake failed with
     * @return the alert's name, or null when none was received
     */
    public static String receivedAlert(Throwable failure) {
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c.getMessage() != null) {
                String message = c.getMessage().toLowerCase(Locale.ROOT);
                if (message.contains(JDK_FATAL_USER_CANCELED)) {
                    return "user_canceled";
                }
                Matcher m = RECEIVED_ALERT.matcher(message);
                if (m.find()) {
                    return m.group(1);
                }
            }
        }
        return null;
    }

    /**
     * Returns whether an alert is one a peer refuses a certificate with.
     *
     * @param alert an alert's name
     * @return true for unknown_ca, bad_certificate, certificate_unknown, certificate_expired and the rest of
     *         certificate alerts (certificate_required, unsupported_certificate, certificate_revoked, access_denied)
     */
    public static boolean isCertificateAlert(String alert) {
        return alert != null && REFUSED_CERTIFICATE_ALERTS.containsKey(alert);
    }

    /**
     * Says why a server's handshake with a client failed.
     *
     * @param failure what the handshake failed with
     * @return the reason, without the protocol's name
     */
    public static String serverReason(Throwable failure) {
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof CertificateException && c.getMessage() != null) {
                return c.getMessage(); // the trust manager's words name the refused certificate
            }
        }
        String alert = receivedAlert(failure);
        String message = failure.getMessage() == null ? failure.toString() : failure.getMessage();
        if (isCertificateAlert(alert)) {
            return "the client refused this server's certificate with alert " + alert + " (" + message + ")";
        }
        if (alert != null) {
            return "the client sent alert " + alert + " (" + message + ")";
        }
        String lower = message.toLowerCase(Locale.ROOT);
        if (lower.contains("peer_did_not_return_a_certificate") || lower.contains("empty client certificate")) {
            return "the client sent no certificate: it holds none, or none issued by a CA this server trusts ("
                    + message + ")";
        }
        return message;
    }
}

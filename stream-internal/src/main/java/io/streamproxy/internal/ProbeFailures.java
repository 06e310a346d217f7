package io.streamproxy.internal;

import io.streamproxy.HealthProbeException;
import io.streamproxy.spi.DurationText;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Turns the exception a health probe failed with into a {@link HealthProbeException} with its
 * {@link HealthProbeException.Failure}, the same way for every transport: a timeout anywhere in the cause chain
 * (the socket's, or the transport's own handshake timeout types) is {@code TIMEOUT}; a refused or unroutable
 * connection or an unknown host is {@code CONNECTION_REFUSED}; a {@link CertificateException} in the chain, or a
 * TLS or DTLS failure whose message or alert names a certificate problem, is {@code CERTIFICATE_REFUSED}; a draining
 * server's {@code user_canceled} alert (DTLS) or reset in answer to the probe header (TLS) is {@code UNAVAILABLE};
 * anything else is {@code HANDSHAKE_FAILED}. Internal: not API.
 */
public final class ProbeFailures {
    private static final List<String> CERTIFICATE_WORDS = List.of("certificate", "pkix", "unknown_ca",
            "no subject alternative", "access_denied", "bad_certificate");

    private final String protocol;
    private final List<Class<? extends Throwable>> timeouts;
    private final List<String> certificateWords;

    /**
     * Describes one transport's failures.
     *
     * @param protocol         {@code TLS} or {@code DTLS}, for the message
     * @param timeouts         the transport's own exception types that mean a timeout
     * @param certificateWords more words that, in a failure's message, mean the certificate was refused (an alert
     *                         name such as {@code handshake_failure} where a library reports a refused certificate
     *                         so)
     */
    public ProbeFailures(String protocol, List<Class<? extends Throwable>> timeouts, List<String> certificateWords) {
        this.protocol = protocol;
        this.timeouts = List.copyOf(timeouts);
        this.certificateWords = List.copyOf(certificateWords);
    }

    private boolean isTimeout(Throwable c) {
        for (Class<? extends Throwable> t : timeouts) {
            if (t.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Classifies a failure of the read that waits for the server's answer to the probe header: a connection reset
     * there, with no alert before it, is how a draining server refuses a probe ({@code UNAVAILABLE}); anything else
     * as {@link #classify}.
     *
     * @param e       what the read failed with
     * @param timeout the probe's timeout, for the message
     * @return the probe exception
     */
    public HealthProbeException classifyAnswer(Throwable e, Duration timeout) {
        if (HandshakeFailures.refusedByServer(e) == null) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof IOException
                        && String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT).contains("connection reset")) {
                    return new HealthProbeException(HealthProbeException.Failure.UNAVAILABLE,
                            "the server reset the connection in answer to the probe: it is draining (shutting "
                                    + "down) and admits no new tunnel, or it failed", e);
                }
            }
        }
        return classify(e, timeout);
    }

    /**
     * Classifies a failure.
     *
     * @param e       what the probe failed with
     * @param timeout the probe's timeout, for the message
     * @return the probe exception
     */
    public HealthProbeException classify(Throwable e, Duration timeout) {
        String what = e.getMessage() == null ? e.toString() : e.getMessage();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SocketTimeoutException || isTimeout(c)) {
                return new HealthProbeException(HealthProbeException.Failure.TIMEOUT,
                        "no answer within " + DurationText.of(timeout) + ": " + what, e);
            }
            if (c instanceof ConnectException || c instanceof NoRouteToHostException
                    || c instanceof UnknownHostException) {
                return new HealthProbeException(HealthProbeException.Failure.CONNECTION_REFUSED,
                        "cannot connect: " + what, e);
            }
            if (c instanceof CertificateException) {
                return new HealthProbeException(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                        "certificate refused: " + c.getMessage(), e);
            }
        }
        String refused = HandshakeFailures.refusedByServer(e);
        if (refused != null) {
            return new HealthProbeException(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                    "certificate refused: " + refused + " (" + what + ")", e);
        }
        String draining = HandshakeFailures.drainingServer(e);
        if (draining != null) {
            return new HealthProbeException(HealthProbeException.Failure.UNAVAILABLE, draining + " (" + what + ")", e);
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT);
            if (CERTIFICATE_WORDS.stream().anyMatch(m::contains) || certificateWords.stream().anyMatch(m::contains)) {
                return new HealthProbeException(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                        "certificate refused: " + c.getMessage(), e);
            }
        }
        return new HealthProbeException(HealthProbeException.Failure.HANDSHAKE_FAILED,
                protocol + " failed: " + what, e);
    }
}

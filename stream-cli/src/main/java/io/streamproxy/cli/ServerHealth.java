package io.streamproxy.cli;

import io.streamproxy.TlsCredentials;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * What the server's {@code /healthz} answers: unhealthy while the server drains, and while a certificate of the
 * chain it presents is outside its dates, as every client refuses such a chain (a server that ran past its
 * certificate's end, or a reload that brought one dated in the future), so that a health check stops sending users
 * to a server whose every handshake fails; healthy again after a reload brings good material.
 */
final class ServerHealth {
    private volatile boolean draining;
    private volatile List<X509Certificate> chain;

    ServerHealth(TlsCredentials inUse) {
        certificatesInUse(inUse);
    }

    /**
     * Takes the material now in use (a {@link CertificateReloader} target).
     *
     * @param credentials the server's credentials
     */
    void certificatesInUse(TlsCredentials credentials) {
        this.chain = List.copyOf(credentials.certificateChain());
    }

    /** The server drains from now on. */
    void draining() {
        draining = true;
    }

    /**
     * Says what is wrong, if anything.
     *
     * @param now the time to judge the certificates' dates by
     * @return null when healthy, else the reason in a few words ({@code draining}, or the certificate and its date)
     */
    String problem(Instant now) {
        if (draining) {
            return "draining";
        }
        for (X509Certificate c : chain) {
            Instant end = c.getNotAfter().toInstant();
            Instant start = c.getNotBefore().toInstant();
            if (now.isAfter(end) || now.isBefore(start)) {
                return CertificateWarnings.named(c) + " " + (now.isAfter(end) ? "expired on " + end
                        : "is not valid before " + start) + ": clients refuse this server's certificate";
            }
        }
        return null;
    }
}

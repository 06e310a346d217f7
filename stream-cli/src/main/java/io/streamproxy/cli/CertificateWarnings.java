package io.streamproxy.cli;

import io.streamproxy.TlsCredentials;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What is wrong with a command's certificates although they load, said once at start and on each reload rather than
 * found out from the first refused handshake: a certificate that expires soon (or has), a leaf whose extended key
 * usage does not allow its role (peers refuse it), a server certificate that does not name {@code godoxy.agent}
 * (the name GoDoxy's agent client checks, and {@code forward}'s default), and a trusted "CA" that is not a CA
 * certificate (only that very certificate would be trusted).
 */
final class CertificateWarnings {
    /** Certificates closer than this to their end are warned about. */
    static final Duration EXPIRY_WARNING = Duration.ofDays(14);
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_USAGE = "2.5.29.37.0";
    /** The name GoDoxy's agent client checks, and the default of this project's clients. */
    private static final String GODOXY_NAME = io.streamproxy.StreamClientOptions.DEFAULT_SERVER_NAME;

    private CertificateWarnings() {
    }

    /**
     * Names a certificate in warnings and health answers.
     *
     * @param c the certificate
     * @return {@code certificate CN=... (serial 1f3a)}
     */
    static String named(X509Certificate c) {
        return "certificate " + c.getSubjectX500Principal().getName() + " (serial " + c.getSerialNumber().toString(16)
                + ")";
    }

    /**
     * Lists the certificates (chain and trusted CAs) that expire within {@link #EXPIRY_WARNING}, or have.
     *
     * @param credentials the material
     * @param now         the time to judge dates by
     * @return one line each, empty when none
     */
    static List<String> expiry(TlsCredentials credentials, Instant now) {
        List<String> out = new ArrayList<>();
        List<X509Certificate> all = new ArrayList<>(credentials.certificateChain());
        all.addAll(credentials.trustedCas());
        for (X509Certificate c : all) {
            Instant end = c.getNotAfter().toInstant();
            if (end.isBefore(now.plus(EXPIRY_WARNING))) {
                out.add(named(c) + " " + (end.isBefore(now) ? "expired on " : "expires on ") + end);
            }
        }
        return out;
    }

    /**
     * Lists the warnings, one line each.
     *
     * @param credentials the material
     * @param role        {@code server} or {@code client}: whose certificate it is
     * @param now         the time to judge dates by
     * @return the warnings, empty when there is nothing to say
     */
    static List<String> of(TlsCredentials credentials, String role, Instant now) {
        List<String> out = expiry(credentials, now);
        X509Certificate leaf = credentials.certificateChain().get(0);
        String leafName = leaf.getSubjectX500Principal().getName();
        boolean server = role.equals("server");
        try {
            List<String> usages = leaf.getExtendedKeyUsage();
            String wanted = server ? SERVER_AUTH : CLIENT_AUTH;
            if (usages != null && !usages.contains(wanted) && !usages.contains(ANY_USAGE)) {
                out.add("the " + role + " certificate " + leafName + " does not allow TLS " + role
                        + " authentication (extended key usage): peers will refuse it");
            }
        } catch (CertificateParsingException e) {
            out.add("the " + role + " certificate " + leafName + " has an unreadable extended key usage: "
                    + e.getMessage());
        }
        if (server && !names(leaf, GODOXY_NAME)) {
            out.add("the server certificate " + leafName + " does not name " + GODOXY_NAME + ": GoDoxy's agent "
                    + "client checks that name, and stream-proxy forward does unless given --server-name");
        }
        for (X509Certificate ca : credentials.trustedCas()) {
            if (ca.getBasicConstraints() < 0) {
                out.add("the trusted certificate " + ca.getSubjectX500Principal().getName() + " is not a CA "
                        + "certificate: only that very certificate is trusted, none it would have issued");
            }
        }
        return out;
    }

    private static boolean names(X509Certificate c, String dns) {
        try {
            if (c.getSubjectAlternativeNames() == null) {
                return false;
            }
            for (List<?> san : c.getSubjectAlternativeNames()) {
                if (Integer.valueOf(2).equals(san.get(0))
                        && String.valueOf(san.get(1)).toLowerCase(Locale.ROOT).equals(dns)) {
                    return true;
                }
            }
            return false;
        } catch (CertificateParsingException e) {
            return false;
        }
    }
}

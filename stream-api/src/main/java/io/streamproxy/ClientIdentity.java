package io.streamproxy;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who an authenticated client is, from the certificate it presented (already validated against the server's CAs):
 * its subject, the subject's common name, its DNS and URI subject alternative names and the SHA-256 of its public
 * key (of the DER SubjectPublicKeyInfo, lower-case hex, as {@code openssl pkey -pubin -outform der | sha256sum}
 * prints it, and as HPKP and SPKI pinning use). A {@link DestinationPolicy} receives it to decide per client.
 *
 * @param subject         the subject, RFC 2253 ({@code CN=billing,O=Example})
 * @param commonName      the subject's (last) CN, or null if it has none
 * @param dnsNames        the DNS subject alternative names
 * @param uris            the URI subject alternative names (for example SPIFFE ids)
 * @param publicKeySha256 the SHA-256 of the certificate's SubjectPublicKeyInfo, 64 lower-case hex digits
 */
public record ClientIdentity(String subject, String commonName, List<String> dnsNames, List<String> uris,
                             String publicKeySha256) {

    /**
     * Copies the lists.
     *
     * @param subject         the subject, RFC 2253
     * @param commonName      the subject's (last) CN, or null
     * @param dnsNames        the DNS subject alternative names
     * @param uris            the URI subject alternative names
     * @param publicKeySha256 the SHA-256 of the SubjectPublicKeyInfo, lower-case hex
     */
    public ClientIdentity {
        dnsNames = List.copyOf(dnsNames);
        uris = List.copyOf(uris);
    }

    /**
     * Reads the identity of a certificate.
     *
     * @param certificate the client's (leaf) certificate
     * @return its identity
     */
    public static ClientIdentity of(X509Certificate certificate) {
        String subject = certificate.getSubjectX500Principal().getName();
        String cn = null;
        try {
            for (Rdn rdn : new LdapName(subject).getRdns()) { // from the least significant (last) to the most
                if (rdn.getType().equalsIgnoreCase("CN") && cn == null) {
                    cn = String.valueOf(rdn.getValue());
                }
            }
        } catch (InvalidNameException e) {
            cn = null;
        }
        List<String> dns = new ArrayList<>();
        List<String> uris = new ArrayList<>();
        try {
            Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    int type = (Integer) san.get(0);
                    if (type == 2) {
                        dns.add(String.valueOf(san.get(1)));
                    } else if (type == 6) {
                        uris.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // no usable alternative names
        }
        String pin;
        try {
            pin = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(certificate.getPublicKey().getEncoded()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing", e);
        }
        return new ClientIdentity(subject, cn, dns, uris, pin);
    }

    /**
     * Reads the identity of a peer chain as TLS engines report it.
     *
     * @param peerChain the peer's chain, leaf first; may be null or empty
     * @return the leaf's identity, or null when there is no X.509 leaf
     */
    public static ClientIdentity ofChain(Certificate[] peerChain) {
        if (peerChain == null || peerChain.length == 0 || !(peerChain[0] instanceof X509Certificate)) {
            return null;
        }
        return SEEN.get(new Certificate[] {peerChain[0]}, leaf -> of((X509Certificate) leaf[0]));
    }

    /**
     * Why a peer chain is not within its validity dates now, or null when it is (or it has no X.509 certificate). For
     * transports: no engine checks the chain of a resumed TLS or DTLS session again. A chain met before is judged by
     * the dates remembered for its exact encoding (bounded), so it is not parsed again.
     *
     * @param peerChain the peer's chain, leaf first; may be null or empty
     * @return a sentence naming the certificate and its dates, or null
     */
    public static String outsideDates(Certificate[] peerChain) {
        return ChainValidity.outsideDates(peerChain, System.currentTimeMillis());
    }

    /**
     * Identities already read, by their certificate's exact encoding: a server meeting one client certificate again
     * and again (a GoDoxy server, a full handshake per connection) does not parse its names each time.
     */
    private static final ChainMemo<ClientIdentity> SEEN = new ChainMemo<>("identity");
}

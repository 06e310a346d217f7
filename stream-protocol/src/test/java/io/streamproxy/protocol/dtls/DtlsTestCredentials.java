package io.streamproxy.protocol.dtls;

import io.streamproxy.TlsCredentials;
import io.streamproxy.pki.CertificateGenerator;
import io.streamproxy.pki.CertificateGenerator.Issued;
import io.streamproxy.pki.CertificateGenerator.Usage;
import java.time.Instant;
import java.util.List;

/** A CA, a server certificate for {@code godoxy.agent} and a client certificate, made once for the DTLS tests. */
final class DtlsTestCredentials {
    static final TlsCredentials SERVER;
    static final TlsCredentials CLIENT;

    static {
        Instant from = Instant.now().minusSeconds(60);
        Instant to = from.plusSeconds(3600);
        try {
            Issued ca = CertificateGenerator.ca("CN=test CA", from, to);
            Issued serverLeaf = CertificateGenerator.leaf(ca, "CN=server", from, to, Usage.SERVER,
                    List.of("godoxy.agent"));
            Issued clientLeaf = CertificateGenerator.leaf(ca, "CN=client", from, to, Usage.CLIENT, List.of());
            SERVER = TlsCredentials.of(List.of(ca.certificate()), List.of(serverLeaf.certificate()),
                    serverLeaf.key());
            CLIENT = TlsCredentials.of(List.of(ca.certificate()), List.of(clientLeaf.certificate()),
                    clientLeaf.key());
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private DtlsTestCredentials() {
    }
}

package io.streamproxy.testkit;

import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import io.streamproxy.pki.CertificateGenerator;

/**
 * A throw-away PKI for tests, made with {@link CertificateGenerator} (Bouncy Castle) like the Go agent's: ECDSA P-256 keys, a CA, a server
 * certificate for {@code godoxy.agent}, {@code localhost}, {@code 127.0.0.1} and {@code ::1} (serverAuth), a client
 * certificate (clientAuth), plus the bad cases tests need: an expired client certificate, a client certificate
 * from a foreign CA, and one from another CA with the trusted CA's very name (what two runs of a certificate tool
 * make). Everything is also written as PEM files (PKCS#8 keys, and the client key once more as SEC1) for
 * outside peers such as {@code openssl} and Python.
 */
public final class TestPki {
    private static volatile TestPki shared;

    private final Path directory;
    private final Issued ca;
    private final Issued server;
    private final Issued client;
    private final Issued expiredClient;
    private final Issued foreignCa;
    private final Issued foreignClient;
    private final Issued impostorClient;

    /** A certificate with its key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
    }

    private TestPki(Path directory) throws GeneralSecurityException, IOException {
        this.directory = directory;
        Instant now = Instant.now();
        Instant from = now.minus(Duration.ofHours(1));
        Instant to = now.plus(Duration.ofDays(2));
        ca = issued(CertificateGenerator.ca("CN=stream-proxy test CA", from, to));
        server = issued(CertificateGenerator.leaf(generated(ca), "CN=godoxy.agent", from, to,
                CertificateGenerator.Usage.SERVER, List.of("godoxy.agent", "localhost", "127.0.0.1", "::1")));
        client = issued(CertificateGenerator.leaf(generated(ca), "CN=stream-proxy test client", from, to,
                CertificateGenerator.Usage.CLIENT, List.of()));
        expiredClient = issued(CertificateGenerator.leaf(generated(ca), "CN=stream-proxy expired client",
                now.minus(Duration.ofDays(3)), now.minus(Duration.ofDays(1)), CertificateGenerator.Usage.CLIENT,
                List.of()));
        foreignCa = issued(CertificateGenerator.ca("CN=foreign CA", from, to));
        foreignClient = issued(CertificateGenerator.leaf(generated(foreignCa), "CN=foreign client", from, to,
                CertificateGenerator.Usage.CLIENT, List.of()));
        Issued impostorCa = issued(CertificateGenerator.ca("CN=stream-proxy test CA", from, to));
        impostorClient = issued(CertificateGenerator.leaf(generated(impostorCa), "CN=stream-proxy impostor client",
                from, to, CertificateGenerator.Usage.CLIENT, List.of()));
        CertificateGenerator.writeCertificate(file("ca.pem"), ca.certificate());
        CertificateGenerator.writeCertificate(file("server.pem"), server.certificate());
        CertificateGenerator.writePkcs8(file("server-key.pem"), server.key());
        CertificateGenerator.writeCertificate(file("client.pem"), client.certificate());
        CertificateGenerator.writePkcs8(file("client-key.pem"), client.key());
        CertificateGenerator.writeSec1(file("client-key-sec1.pem"), generated(client));
        CertificateGenerator.writeCertificate(file("foreign-ca.pem"), foreignCa.certificate());
    }

    private Path file(String name) {
        Path p = directory.resolve(name);
        p.toFile().deleteOnExit();
        return p;
    }

    private static Issued issued(CertificateGenerator.Issued i) {
        return new Issued(i.certificate(), i.key());
    }

    private static CertificateGenerator.Issued generated(Issued i) {
        return new CertificateGenerator.Issued(i.certificate(), i.key());
    }

    /**
     * Creates a new PKI whose PEM files go to a fresh temporary folder.
     *
     * @return the PKI
     */
    public static TestPki create() {
        try {
            Path dir = Files.createTempDirectory("stream-proxy-pki-");
            dir.toFile().deleteOnExit();
            return new TestPki(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create the test PKI", e);
        }
    }

    /**
     * Returns one PKI shared by every test in this JVM (key generation is not free).
     *
     * @return the shared PKI
     */
    public static TestPki shared() {
        TestPki p = shared;
        if (p == null) {
            synchronized (TestPki.class) {
                p = shared;
                if (p == null) {
                    p = create();
                    shared = p;
                }
            }
        }
        return p;
    }

    /** @return the folder holding the PEM files */
    public Path directory() {
        return directory;
    }

    /** @return the CA certificate file */
    public Path caFile() {
        return directory.resolve("ca.pem");
    }

    /** @return the server certificate file */
    public Path serverCertFile() {
        return directory.resolve("server.pem");
    }

    /** @return the server key file (PKCS#8) */
    public Path serverKeyFile() {
        return directory.resolve("server-key.pem");
    }

    /** @return the client certificate file */
    public Path clientCertFile() {
        return directory.resolve("client.pem");
    }

    /** @return the client key file (PKCS#8) */
    public Path clientKeyFile() {
        return directory.resolve("client-key.pem");
    }

    /** @return the client key file in SEC1 ({@code EC PRIVATE KEY}) form, as the Go agent writes keys */
    public Path clientSec1KeyFile() {
        return directory.resolve("client-key-sec1.pem");
    }

    /** @return the CA certificate */
    public X509Certificate caCertificate() {
        return ca.certificate();
    }

    /** @return the server's credentials: its certificate and key, trusting the CA for clients */
    public TlsCredentials serverCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(server.certificate()), server.key());
    }

    /** @return a good client's credentials, trusting the CA for the server */
    public TlsCredentials clientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(client.certificate()), client.key());
    }

    /** @return credentials with an expired client certificate from the right CA */
    public TlsCredentials expiredClientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(expiredClient.certificate()),
                expiredClient.key());
    }

    /** @return credentials with a client certificate from a foreign CA (the server certificate is trusted) */
    public TlsCredentials foreignClientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(foreignClient.certificate()),
                foreignClient.key());
    }

    /**
     * @return credentials with a client certificate issued by another CA that has the trusted CA's name (so a client
     * sends it to a server asking for that CA), trusting the right CA for the server
     */
    public TlsCredentials impostorClientCredentials() {
        return TlsCredentials.of(List.of(ca.certificate()), List.of(impostorClient.certificate()),
                impostorClient.key());
    }

    /** @return credentials that trust only the foreign CA, so the server's certificate is refused */
    public TlsCredentials clientTrustingForeignCa() {
        return TlsCredentials.of(List.of(foreignCa.certificate()), List.of(client.certificate()), client.key());
    }

    /** @return the server certificate and key */
    public Issued server() {
        return server;
    }

    /** @return the client certificate and key from the foreign CA */
    public Issued foreignClient() {
        return foreignClient;
    }

    /** @return the good client certificate and key */
    public Issued client() {
        return client;
    }

    /** A certificate and its key written as PEM files, for outside peers. */
    public record PemFiles(Path certificate, Path key) {
    }

    /**
     * Issues a new client certificate from the CA, valid from an hour ago until {@code notAfter}, and writes it
     * and its PKCS#8 key to new files in {@link #directory()}: for a session that outlives its certificate.
     *
     * @param notAfter the end of the certificate's validity
     * @return the files
     */
    public PemFiles clientValidUntil(Instant notAfter) {
        try {
            CertificateGenerator.Issued i = CertificateGenerator.leaf(generated(ca), "CN=stream-proxy short-lived client",
                    Instant.now().minus(Duration.ofHours(1)), notAfter, CertificateGenerator.Usage.CLIENT, List.of());
            Path cert = Files.createTempFile(directory, "short-lived-client-", ".pem");
            Path key = Files.createTempFile(directory, "short-lived-client-key-", ".pem");
            cert.toFile().deleteOnExit();
            key.toFile().deleteOnExit();
            CertificateGenerator.writeCertificate(cert, i.certificate());
            CertificateGenerator.writePkcs8(key, i.key());
            return new PemFiles(cert, key);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot issue a client certificate", e);
        }
    }

    /**
     * Lists the PEM files written, for cleanup or inspection.
     *
     * @return the files
     */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        for (String f : new String[] {"ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem",
                "client-key-sec1.pem", "foreign-ca.pem"}) {
            out.add(directory.resolve(f));
        }
        return out;
    }
}

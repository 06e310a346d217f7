package io.streamproxy.cli;

import io.streamproxy.pki.CertificateGenerator;
import io.streamproxy.pki.CertificateGenerator.Issued;
import io.streamproxy.pki.CertificateGenerator.Usage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code stream-proxy certs}: a CA, a server and a client certificate, as the Go agent makes them. */
@Command(name = "certs", mixinStandardHelpOptions = true,
        description = "Write ca.pem, ca-key.pem, server.pem, server-key.pem, client.pem, client-key.pem "
                + "(ECDSA P-256, PKCS#8 keys, mode 0600).")
final class CertsCommand implements Callable<Integer> {
    static final List<String> FILES = List.of("ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "client.pem",
            "client-key.pem");

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write to.")
    Path out;

    @Option(names = "--server-name", paramLabel = "NAME", defaultValue = "godoxy.agent",
            description = "Name the server certificate carries (default: ${DEFAULT-VALUE}).")
    String serverName;

    @Option(names = "--san", paramLabel = "NAME_OR_IP", description = "Another server name or IP (repeatable).")
    List<String> sans = new ArrayList<>();

    @Option(names = "--force", description = "Overwrite existing files.")
    boolean force;

    @Option(names = "--days", defaultValue = "825", description = "Validity in days (default: ${DEFAULT-VALUE}).")
    int days;

    @Override
    public Integer call() throws IOException {
        write(out, serverName, sans, force, days);
        PrintWriter w = spec.commandLine().getOut();
        w.println("wrote " + String.join(", ", FILES) + " to " + out.toAbsolutePath());
        w.flush();
        return 0;
    }

    static void write(Path out, String serverName, List<String> sans, boolean force, int days) throws IOException {
        Files.createDirectories(out);
        if (!force) {
            for (String f : FILES) {
                if (Files.exists(out.resolve(f))) {
                    throw new CliException(out.resolve(f) + " exists; use --force to overwrite");
                }
            }
        }
        Set<String> names = new LinkedHashSet<>(List.of(serverName, "localhost", "127.0.0.1", "::1"));
        names.addAll(sans);
        Instant from = Instant.now().minus(Duration.ofMinutes(5));
        Instant to = from.plus(Duration.ofDays(days));
        try {
            Issued ca = CertificateGenerator.ca("CN=stream-proxy CA", from, to);
            Issued server = CertificateGenerator.leaf(ca, "CN=" + serverName, from, to, Usage.SERVER,
                    new ArrayList<>(names));
            Issued client = CertificateGenerator.leaf(ca, "CN=stream-proxy client", from, to, Usage.CLIENT,
                    List.of());
            CertificateGenerator.writeCertificate(out.resolve("ca.pem"), ca.certificate());
            CertificateGenerator.writePkcs8(out.resolve("ca-key.pem"), ca.key());
            CertificateGenerator.writeCertificate(out.resolve("server.pem"), server.certificate());
            CertificateGenerator.writePkcs8(out.resolve("server-key.pem"), server.key());
            CertificateGenerator.writeCertificate(out.resolve("client.pem"), client.certificate());
            CertificateGenerator.writePkcs8(out.resolve("client-key.pem"), client.key());
        } catch (GeneralSecurityException e) {
            throw new CliException("cannot make certificates: " + e.getMessage(), e);
        }
    }
}

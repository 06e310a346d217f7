package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.pki.CertificateGenerator;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.RecordedLogs;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

/**
 * Certificate reloading against a live server: renewed files reach new handshakes, unchanged files are skipped,
 * broken or mismatched files keep the old certificate and are counted, a Kubernetes-style symlink swap of the
 * folder is seen by the watcher, and a certificate close to its end is warned about.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CertificateReloaderTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private StreamServer server;
    private CertificateReloader reloader;
    private final Metrics metrics = new Metrics();
    private TlsCredentials client;

    @AfterEach
    void close() {
        if (reloader != null) {
            reloader.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private CertificateFiles.Files3 start(Path dir) throws Exception {
        CertificateFiles.Files3 files = new CertificateFiles.Files3(dir.resolve("ca.pem"), dir.resolve("server.pem"),
                dir.resolve("server-key.pem"));
        TlsCredentials creds = TlsCredentials.fromPem(files.ca(), files.cert(), files.key());
        client = TlsCredentials.fromPem(dir.resolve("ca.pem"), dir.resolve("client.pem"),
                dir.resolve("client-key.pem"));
        server = StreamServer.start(StreamServerOptions.builder(creds)
                .tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).build());
        reloader = new CertificateReloader(files, "server", List.of(server::updateCredentials), metrics, Duration.ZERO,
                creds);
        return files;
    }

    private BigInteger served(Path certs) throws Exception {
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), client, null,
                new String[] {StreamProtocol.ALPN}, WAIT)) {
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static CertificateGenerator.Issued renew(Path certs, Duration validFor) throws Exception {
        TlsCredentials ca = TlsCredentials.fromPem(certs.resolve("ca.pem"), certs.resolve("ca.pem"),
                certs.resolve("ca-key.pem"));
        return CertificateGenerator.leaf(new CertificateGenerator.Issued(ca.certificateChain().get(0),
                        ca.privateKey()), "CN=godoxy.agent", Instant.now().minusSeconds(60),
                Instant.now().plus(validFor), CertificateGenerator.Usage.SERVER, List.of("godoxy.agent"));
    }

    private static void write(Path dir, CertificateGenerator.Issued issued) throws Exception {
        CertificateGenerator.writePkcs8(dir.resolve("server-key.pem"), issued.key());
        CertificateGenerator.writeCertificate(dir.resolve("server.pem"), issued.certificate());
    }

    @Test
    void renewedFiles_reachNewHandshakes_unchangedFilesAreSkipped(@TempDir Path dir) throws Exception {
        CertsCommand.write(dir, "godoxy.agent", List.of(), false, 30);
        start(dir);
        BigInteger before = served(dir);
        assertThat(reloader.reload("test", false)).isEqualTo("unchanged");
        CertificateGenerator.Issued renewed = renew(dir, Duration.ofDays(30));
        write(dir, renewed);
        assertThat(reloader.reload("test", false)).isEqualTo("success");
        assertThat(served(dir)).isNotEqualTo(before).isEqualTo(renewed.certificate().getSerialNumber());
        assertThat(reloader.reload("test", true)).as("SIGHUP applies unchanged files too").isEqualTo("success");
        assertThat(metrics.scrape())
                .contains("stream_proxy_certificate_reloads_total{outcome=\"success\"} 2.0")
                .containsPattern("(?m)^stream_proxy_certificate_expiry_seconds\\{certificate=\"server\",serial=\""
                        + renewed.certificate().getSerialNumber().toString(16) + "\",subject=\"CN=godoxy.agent\"} "
                        + "(2\\.59\\d*E6|259\\d{4}(\\.\\d+)?)$")
                .doesNotContain("serial=\"" + before.toString(16) + "\"");
    }

    @Test
    void brokenOrMismatchedFiles_keepTheOldCertificate_andAreCounted(@TempDir Path dir) throws Exception {
        CertsCommand.write(dir, "godoxy.agent", List.of(), false, 30);
        CertificateFiles.Files3 files = start(dir);
        BigInteger before = served(dir);
        int mark = RecordedLogs.mark();

        Files.writeString(files.key(), "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
        assertThat(reloader.reload("test", false)).isEqualTo("failure");
        CertificateGenerator.Issued other = renew(dir, Duration.ofDays(30));
        CertificateGenerator.writePkcs8(files.key(), renew(dir, Duration.ofDays(30)).key());
        CertificateGenerator.writeCertificate(files.cert(), other.certificate());
        assertThat(reloader.reload("test", false)).as("a key that is not the certificate's").isEqualTo("failure");
        Files.delete(files.ca());
        assertThat(reloader.reload("test", true)).as("a missing file").isEqualTo("failure");

        assertThat(served(dir)).as("the old certificate is still served").isEqualTo(before);
        assertThat(metrics.scrape()).contains("stream_proxy_certificate_reloads_total{outcome=\"failure\"} 3.0");
        assertThat(RecordedLogs.since(mark, Level.WARN)).hasSize(3)
                .allMatch(e -> e.message().contains("the old certificates stay in use"));
    }

    @Test
    void symlinkSwapOfTheFolder_asKubernetesDoesIt_isSeenByTheWatcher(@TempDir Path dir) throws Exception {
        Path first = dir.resolve("..2026_12_02_a");
        CertsCommand.write(first, "godoxy.agent", List.of(), false, 30);
        Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
        for (String f : CertsCommand.FILES) {
            Files.createSymbolicLink(dir.resolve(f), Path.of("..data", f));
        }
        start(dir);
        BigInteger before = served(dir);

        Path second = dir.resolve("..2026_12_02_b");
        Files.createDirectory(second);
        for (String f : CertsCommand.FILES) {
            Files.copy(first.resolve(f), second.resolve(f));
        }
        CertificateGenerator.Issued renewed = renew(second, Duration.ofDays(30));
        write(second, renewed);
        Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);

        BigInteger now = before;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (now.equals(before) && System.nanoTime() < deadline) {
            now = served(dir);
        }
        assertThat(now).isEqualTo(renewed.certificate().getSerialNumber());
    }

    @Test
    void certificateExpiringWithin14Days_isWarnedAbout(@TempDir Path dir) throws Exception {
        CertsCommand.write(dir, "godoxy.agent", List.of(), false, 30);
        start(dir);
        int mark = RecordedLogs.mark();
        CertificateGenerator.Issued soon = renew(dir, Duration.ofDays(3));
        write(dir, soon);
        assertThat(reloader.reload("test", false)).isEqualTo("success");
        assertThat(RecordedLogs.since(mark, Level.WARN)).singleElement()
                .satisfies(e -> assertThat(e.message()).contains("expires on"));
        CertificateGenerator.Issued later = renew(dir, Duration.ofDays(30));
        write(dir, later);
        mark = RecordedLogs.mark();
        assertThat(reloader.reload("test", false)).isEqualTo("success");
        assertThat(RecordedLogs.since(mark, Level.WARN)).isEmpty();
        assertThat(Files.readString(dir.resolve("server.pem"), StandardCharsets.US_ASCII)).contains("BEGIN");
    }

    @Test
    void certificateExpiringSoon_isWarnedAboutAgain_whileItStaysInUse_andNoLongerOnceRenewed(@TempDir Path dir)
            throws Exception {
        CertsCommand.write(dir, "godoxy.agent", List.of(), false, 30);
        write(dir, renew(dir, Duration.ofDays(3)));
        CertificateFiles.Files3 files = new CertificateFiles.Files3(dir.resolve("ca.pem"), dir.resolve("server.pem"),
                dir.resolve("server-key.pem"));
        java.util.function.Predicate<RecordedLogs.Event> reminder = e -> e.message().contains("expires on")
                && e.message().contains("said again every 200ms until it is renewed");
        int mark = RecordedLogs.mark();
        reloader = new CertificateReloader(files, "server", List.of(), null, Duration.ZERO,
                TlsCredentials.fromPem(files.ca(), files.cert(), files.key()), Duration.ofMillis(200));
        assertThat(RecordedLogs.await(mark, Level.WARN, reminder, WAIT)).as("the first reminder").anyMatch(reminder);
        mark = RecordedLogs.mark();
        assertThat(RecordedLogs.await(mark, Level.WARN, reminder, WAIT)).as("the next one").anyMatch(reminder);
        write(dir, renew(dir, Duration.ofDays(30)));
        assertThat(reloader.reload("test", false)).isEqualTo("success");
        // reloaded between two reminders: from the one after next on, none may come (five periods are watched)
        RecordedLogs.await(RecordedLogs.mark(), Level.WARN, reminder, Duration.ofMillis(250));
        mark = RecordedLogs.mark();
        assertThat(RecordedLogs.await(mark, Level.WARN, reminder, Duration.ofSeconds(1)))
                .as("reminders after the renewal").noneMatch(reminder);
    }
}

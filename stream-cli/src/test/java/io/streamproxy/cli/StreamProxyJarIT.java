package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.TlsCredentials;
import io.streamproxy.testkit.TcpDestination;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The built jar as a process: certs, server, forward, data, probe, /healthz, /metrics, SIGTERM, exit 0. */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StreamProxyJarIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Process> processes = new ArrayList<>();
    private final java.util.concurrent.ExecutorService readers = java.util.concurrent.Executors.newCachedThreadPool();

    /** java -jar with the built jar and {@code args}. */
    private static List<String> jarCommand(String... args) {
        String jar = System.getProperty("streamproxy.jar");
        assertThat(jar).as("-Dstreamproxy.jar").isNotNull();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Process start(Path log, String... args) throws Exception {
        return launch(log, jarCommand(args));
    }

    /** Starts a command with its stderr in {@code log}; it is stopped after the test. */
    private Process launch(Path log, List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        processes.add(p);
        return p;
    }

    /** Writes a CA, server and client certificates to {@code dir}/certs with the jar's certs command. */
    private Path certs(Path dir) throws Exception {
        Path certs = dir.resolve("certs");
        Process c = start(dir.resolve("certs.err"), "certs", "--out", certs.toString());
        assertThat(c.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(c.exitValue()).as(Files.readString(dir.resolve("certs.err"))).isZero();
        return certs;
    }

    /**
     * The command, started with SIGHUP set to {@code disposition} ({@code SIG_DFL} or {@code SIG_IGN}) whatever this
     * JVM inherited: python3 sets it and execs the command in its place (same pid).
     */
    private static List<String> withHup(String disposition, List<String> cmd) {
        io.streamproxy.testkit.OutsidePeers.require("python3");
        List<String> out = new ArrayList<>(List.of("python3", "-c", "import os, signal, sys; "
                + "signal.signal(signal.SIGHUP, getattr(signal, sys.argv[1])); os.execv(sys.argv[2], sys.argv[2:])",
                disposition));
        out.addAll(cmd);
        return out;
    }

    private Process startWithHup(Path log, String disposition, String... args) throws Exception {
        return launch(log, withHup(disposition, jarCommand(args)));
    }

    /** Starts the jar under a shell that first lowers the open-file limit to {@code maxFiles}. */
    private Process startWithFileLimit(Path log, int maxFiles, String... args) throws Exception {
        StringBuilder cmd = new StringBuilder("ulimit -n " + maxFiles + " && exec");
        for (String a : jarCommand(args)) {
            cmd.append(" '").append(a).append("'");
        }
        return launch(log, List.of("/bin/sh", "-c", cmd.toString()));
    }

    @AfterEach
    void stopAll() throws Exception {
        readers.shutdownNow();
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private String firstLine(Process p, Path err) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (java.io.IOException e) {
                return null;
            }
        }, readers);
        String l = line.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(l).as("stderr: %s", Files.exists(err) ? Files.readString(err) : "").isNotNull();
        return l;
    }

    @Test
    void certs_server_forward_probe_api_sigterm(@TempDir Path dir) throws Exception {
        Path certs = certs(dir);

        Process server = start(dir.resolve("server.err"), "server", "--certs", certs.toString(), "--tcp",
                "127.0.0.1:0", "--udp", "127.0.0.1:0");
        String ready = firstLine(server, dir.resolve("server.err"));
        Matcher m = Pattern.compile("^listening tcp=127\\.0\\.0\\.1:(\\d+) udp=127\\.0\\.0\\.1:(\\d+) transport=\\w+$")
                .matcher(ready);
        assertThat(m.matches()).as(ready).isTrue();
        String tcpPort = m.group(1);

        try (TcpDestination echo = TcpDestination.echo()) {
            Process forward = start(dir.resolve("forward.err"), "forward", "--server", "127.0.0.1:" + tcpPort,
                    "--certs", certs.toString(), "--to", echo.host() + ":" + echo.port());
            String fl = firstLine(forward, dir.resolve("forward.err"));
            Matcher fm = Pattern.compile("^forwarding 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:\\d+ via "
                    + "127\\.0\\.0\\.1:" + tcpPort + "$").matcher(fl);
            assertThat(fm.matches()).as(fl).isTrue();
            byte[] payload = new byte[1 << 20];
            new java.util.Random(3).nextBytes(payload);
            try (Socket s = new Socket("127.0.0.1", Integer.parseInt(fm.group(1)))) {
                s.setSoTimeout((int) WAIT.toMillis());
                CompletableFuture<Void> w = CompletableFuture.runAsync(() -> {
                    try {
                        s.getOutputStream().write(payload);
                        s.shutdownOutput();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, readers);
                assertThat(s.getInputStream().readAllBytes()).isEqualTo(payload);
                w.get(10, TimeUnit.SECONDS);
            }
            forward.destroy(); // SIGTERM
            assertThat(forward.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(forward.exitValue()).isZero();
        }

        Process probe = start(dir.resolve("probe.err"), "probe", "--server", "127.0.0.1:" + tcpPort, "--certs",
                certs.toString(), "--timeout", "10s");
        String pl = firstLine(probe, dir.resolve("probe.err"));
        assertThat(probe.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(probe.exitValue()).isZero();
        assertThat(pl).matches("ok tcp 127\\.0\\.0\\.1:" + tcpPort + " in \\d+ ms");

        TlsCredentials client = TlsCredentials.fromPem(certs.resolve("ca.pem"), certs.resolve("client.pem"),
                certs.resolve("client-key.pem"));
        int port = Integer.parseInt(tcpPort);
        assertThat(CliTest.httpGet(port, client, "/healthz")).startsWith("HTTP/1.1 200").endsWith("ok");
        assertThat(CliTest.httpGet(port, client, "/metrics")).contains("stream_sessions_total")
                .contains("stream_health_probes_total").contains("stream_handshakes_total{");

        server.destroy(); // SIGTERM
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).as(Files.readString(dir.resolve("server.err"))).isZero();
    }

    /**
     * Out of file descriptors (EMFILE), the JDK transport's accept loop backs off and says so at most every 10 s
     * instead of spinning and writing a line per failure, and serves again once descriptors are free.
     */
    @Test
    void outOfFileDescriptors_acceptBacksOff_withoutALogFlood_andRecovers(@TempDir Path dir) throws Exception {
        Path certs = certs(dir);
        Path err = dir.resolve("server.err");
        Process server = startWithFileLimit(err, 160, "server", "--certs", certs.toString(), "--tcp",
                "127.0.0.1:0", "--udp", "127.0.0.1:0", "--transport", "jdk", "--no-http");
        Matcher m = Pattern.compile("^listening tcp=127\\.0\\.0\\.1:(\\d+) .*").matcher(firstLine(server, err));
        assertThat(m.matches()).isTrue();
        int port = Integer.parseInt(m.group(1));
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) { // more than the server can accept: it runs out of descriptors
                Socket s = new Socket();
                s.connect(new java.net.InetSocketAddress("127.0.0.1", port), (int) WAIT.toMillis());
                idle.add(s);
            }
            // the backlog holds what the server cannot accept; give its loop 3 s to spin, if it would
            java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
            assertThat(never.await(3, TimeUnit.SECONDS)).isFalse();
            String log = Files.readString(err);
            long failures = log.lines().filter(l -> l.contains("accept failed")).count();
            assertThat(failures).as("accept failures logged in 3 s:%n%s", log).isBetween(1L, 2L);
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
        Process probe = start(dir.resolve("probe.err"), "probe", "--server", "127.0.0.1:" + port, "--certs",
                certs.toString(), "--timeout", "20s");
        assertThat(probe.waitFor(40, TimeUnit.SECONDS)).isTrue();
        assertThat(probe.exitValue()).as("probe after the descriptors came back: %s",
                Files.readString(dir.resolve("probe.err"))).isZero();
        server.destroy();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    /**
     * A forward that runs for months: its client certificate, rewritten in place from the same CA (a short-lived
     * certificate renewed), reaches the tunnels opened after a SIGHUP, which does not end the forward, while a
     * connection opened before keeps relaying; the server's access log names the certificate of each session.
     */
    @Test
    void forwardReloadsItsClientCertificate_onSighup(@TempDir Path dir) throws Exception {
        Path certs = certs(dir);
        Path accessLog = dir.resolve("access.log");
        Path serverErr = dir.resolve("server.err");
        Process server = start(serverErr, "server", "--certs", certs.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0", "--access-log", accessLog.toString(), "--no-http");
        Matcher sm = Pattern.compile("^listening tcp=127\\.0\\.0\\.1:(\\d+) .*").matcher(firstLine(server, serverErr));
        assertThat(sm.matches()).isTrue();
        try (TcpDestination echo = TcpDestination.echo()) {
            Path err = dir.resolve("forward.err");
            Process forward = startWithHup(err, "SIG_DFL", "forward", "--certs", certs.toString(), "--server",
                    "127.0.0.1:" + sm.group(1), "--to", echo.host() + ":" + echo.port(), "--reload-interval", "0s");
            Matcher fm = Pattern.compile("^forwarding 127\\.0\\.0\\.1:(\\d+) -> .*").matcher(firstLine(forward, err));
            assertThat(fm.matches()).isTrue();
            int port = Integer.parseInt(fm.group(1));
            try (java.net.Socket before = new java.net.Socket("127.0.0.1", port)) {
                before.setSoTimeout((int) WAIT.toMillis());
                echoLine(before, "before the rotation");

                TlsCredentials ca = TlsCredentials.fromPem(certs.resolve("ca.pem"), certs.resolve("ca.pem"),
                        certs.resolve("ca-key.pem"));
                io.streamproxy.pki.CertificateGenerator.Issued renewed = io.streamproxy.pki.CertificateGenerator
                        .leaf(new io.streamproxy.pki.CertificateGenerator.Issued(ca.certificateChain().get(0),
                                ca.privateKey()), "CN=stream-proxy renewed client",
                                java.time.Instant.now().minusSeconds(60),
                                java.time.Instant.now().plus(Duration.ofDays(1)),
                                io.streamproxy.pki.CertificateGenerator.Usage.CLIENT, List.of());
                io.streamproxy.pki.CertificateGenerator.writePkcs8(certs.resolve("client-key.pem"), renewed.key());
                io.streamproxy.pki.CertificateGenerator.writeCertificate(certs.resolve("client.pem"),
                        renewed.certificate());
                Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(forward.pid())).start();
                assertThat(hup.waitFor(10, TimeUnit.SECONDS)).isTrue();
                awaitNotification(err,
                        l -> l.contains("certificates reloaded (SIGHUP): CN=stream-proxy renewed client"));
                assertThat(forward.isAlive()).as("SIGHUP does not end the forward").isTrue();

                try (java.net.Socket after = new java.net.Socket("127.0.0.1", port)) {
                    after.setSoTimeout((int) WAIT.toMillis());
                    echoLine(after, "after the rotation");
                }
                echoLine(before, "on the connection opened before");
            }
            forward.destroy();
            assertThat(forward.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(forward.exitValue()).as(Files.readString(err)).isZero();
        }
        server.destroy();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> sessions = Files.readAllLines(accessLog).stream().filter(l -> l.contains("\"event\":\"session\""))
                .toList();
        assertThat(sessions).as("%s", sessions).hasSize(2);
        assertThat(sessions).anyMatch(l -> l.contains("\"client_identity\":\"CN=stream-proxy client\""))
                .anyMatch(l -> l.contains("\"client_identity\":\"CN=stream-proxy renewed client\""));
    }

    /**
     * The server process dies (SIGKILL) while a tunnel through the forward is open: its kernel ends the connection
     * with a FIN and no close_notify, and the forward's local client sees a reset (a cut-off transfer must not look
     * complete), with the reason in the forward's log; on the default transport and on jdk.
     */
    @ParameterizedTest
    @ValueSource(strings = {"netty", "jdk"})
    void serverKilledMidTunnel_forwardResetsItsLocalClient(String transport, @TempDir Path dir) throws Exception {
        Path certs = certs(dir);
        Path serverErr = dir.resolve("server.err");
        Process server = start(serverErr, "server", "--certs", certs.toString(), "--tcp", "127.0.0.1:0",
                "--no-http", "--transport", transport);
        Matcher sm = Pattern.compile("^listening tcp=127\\.0\\.0\\.1:(\\d+) .*").matcher(firstLine(server, serverErr));
        assertThat(sm.matches()).isTrue();
        try (TcpDestination echo = TcpDestination.echo()) {
            Path err = dir.resolve("forward.err");
            Process forward = start(err, "forward", "--certs", certs.toString(), "--server", "127.0.0.1:" + sm.group(1),
                    "--to", echo.host() + ":" + echo.port(), "--transport", transport);
            Matcher fm = Pattern.compile("^forwarding 127\\.0\\.0\\.1:(\\d+) -> .*").matcher(firstLine(forward, err));
            assertThat(fm.matches()).isTrue();
            try (Socket local = new Socket("127.0.0.1", Integer.parseInt(fm.group(1)))) {
                local.setSoTimeout((int) WAIT.toMillis());
                echoLine(local, "through the tunnel");
                server.destroyForcibly();
                assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
                int read;
                try {
                    read = local.getInputStream().read();
                } catch (java.net.SocketException reset) {
                    read = -2;
                }
                assertThat(read).as("the local client's read: -2 for a reset, -1 for a clean end").isEqualTo(-2);
            }
            awaitNotification(err, l -> l.contains("TLS failed"));
        }
    }

    private static void echoLine(java.net.Socket s, String text) throws java.io.IOException {
        byte[] sent = (text + "\n").getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(sent);
        s.getOutputStream().flush();
        byte[] got = new java.io.DataInputStream(s.getInputStream()).readNBytes(sent.length);
        assertThat(new String(got, StandardCharsets.UTF_8)).isEqualTo(text + "\n");
    }

    /**
     * Run for months: a server certificate rewritten in place from the same CA plus SIGHUP reaches new handshakes
     * while an open tunnel keeps working; SIGTERM during a 4-second download lets it finish while new tunnels are
     * refused and /healthz answers 503, then the server exits 0; the access log holds one JSON line per session
     * with its destination and byte counts, and the refusal.
     */
    @Test
    void sighupReloadsCertificates_sigtermDrains_accessLogRecordsEachSession(@TempDir Path dir) throws Exception {
        Path certs = certs(dir);
        Path accessLog = dir.resolve("access.log");
        Path err = dir.resolve("server.err");
        // SIGHUP at its default whatever this JVM inherited (a build started under nohup ignores it)
        Process server = startWithHup(err, "SIG_DFL", "server", "--certs", certs.toString(), "--tcp", "127.0.0.1:0",
                "--udp", "127.0.0.1:0", "--access-log", accessLog.toString(), "--drain-timeout", "8s",
                "--max-tunnel-lifetime", "1h",
                "--tcp-idle-timeout", "10m", "--half-close-timeout", "1m");
        Matcher m = Pattern.compile("^listening tcp=127\\.0\\.0\\.1:(\\d+) .*").matcher(firstLine(server, err));
        assertThat(m.matches()).isTrue();
        java.net.InetSocketAddress address = new java.net.InetSocketAddress("127.0.0.1", Integer.parseInt(m.group(1)));
        TlsCredentials clientCreds = TlsCredentials.fromPem(certs.resolve("ca.pem"), certs.resolve("client.pem"),
                certs.resolve("client-key.pem"));
        java.math.BigInteger before = servedSerial(address, clientCreds);

        try (TcpDestination echo = TcpDestination.echo(); SlowDownload download = new SlowDownload();
             io.streamproxy.StreamClient client = io.streamproxy.StreamClient.create(
                     io.streamproxy.StreamClientOptions.builder(address, clientCreds).build())) {
            io.streamproxy.TcpTunnel open = client.openTcp(echo.host(), echo.port());
            open.setReadTimeout(WAIT);
            echo(open, "before the reload");

            // a new server certificate from the same CA, written over the old files in place
            TlsCredentials ca = TlsCredentials.fromPem(certs.resolve("ca.pem"), certs.resolve("ca.pem"),
                    certs.resolve("ca-key.pem"));
            io.streamproxy.pki.CertificateGenerator.Issued renewed = io.streamproxy.pki.CertificateGenerator.leaf(
                    new io.streamproxy.pki.CertificateGenerator.Issued(ca.certificateChain().get(0), ca.privateKey()),
                    "CN=godoxy.agent", java.time.Instant.now().minusSeconds(60),
                    java.time.Instant.now().plus(Duration.ofDays(30)),
                    io.streamproxy.pki.CertificateGenerator.Usage.SERVER, List.of("godoxy.agent", "127.0.0.1"));
            io.streamproxy.pki.CertificateGenerator.writePkcs8(certs.resolve("server-key.pem"), renewed.key());
            io.streamproxy.pki.CertificateGenerator.writeCertificate(certs.resolve("server.pem"),
                    renewed.certificate());
            Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(server.pid())).start();
            assertThat(hup.waitFor(10, TimeUnit.SECONDS)).isTrue();
            java.math.BigInteger after = before;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (after.equals(before) && System.nanoTime() < deadline) {
                after = servedSerial(address, clientCreds);
            }
            assertThat(after).as("new handshakes present the renewed certificate; stderr:%n%s",
                    Files.readString(err)).isEqualTo(renewed.certificate().getSerialNumber());
            assertThat(server.isAlive()).as("SIGHUP does not end the server").isTrue();
            // SIGHUP reloads even unchanged files (a change in the folder alone might have done the first one)
            double reloads = successfulReloads(address.getPort(), clientCreds);
            Process again = new ProcessBuilder("kill", "-HUP", Long.toString(server.pid())).start();
            assertThat(again.waitFor(10, TimeUnit.SECONDS)).isTrue();
            deadline = System.nanoTime() + WAIT.toNanos();
            while (successfulReloads(address.getPort(), clientCreds) <= reloads && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(successfulReloads(address.getPort(), clientCreds)).isEqualTo(reloads + 1);
            echo(open, "after the reload, on the tunnel opened before");
            open.shutdownOutput();
            assertThat(open.input().read()).isEqualTo(-1);
            open.close();

            io.streamproxy.TcpTunnel slow = client.openTcp(download.host(), download.port());
            slow.setReadTimeout(WAIT);
            assertThat(slow.input().read()).as("the download has started").isNotNegative();
            server.destroy(); // SIGTERM
            assertThat(CliTest.httpGet(address.getPort(), clientCreds, "/healthz"))
                    .as("healthz while draining").startsWith("HTTP/1.1 503").endsWith("draining");
            try (io.streamproxy.TcpTunnel refused = client.openTcp(echo.host(), echo.port())) {
                refused.setReadTimeout(WAIT);
                assertThat(readToEnd(refused.input())).as("a new tunnel is closed unserved while draining")
                        .isZero();
            }
            long rest = readToEnd(slow.input());
            assertThat(rest + 1).as("the whole download arrived").isEqualTo(SlowDownload.SIZE);
            slow.close();
            assertThat(download.finishedInTime()).isTrue();
        }
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).as(Files.readString(err)).isZero();

        List<String> lines = Files.readAllLines(accessLog);
        assertThat(lines).as("%s", lines).hasSize(3).allMatch(l -> l.startsWith("{") && l.endsWith("}"));
        assertThat(lines.get(0)).contains("\"event\":\"session\"", "\"protocol\":\"tcp\"",
                "\"bytes_to_destination\":62", "\"bytes_from_destination\":62", "\"ended_first\":\"client\"",
                "\"client_identity\":\"CN=stream-proxy client\"").containsPattern("\"destination\":\"127\\.0\\.0\\.1:\\d+\"");
        assertThat(lines.stream().filter(l -> l.contains("\"event\":\"refused\"")
                && l.contains("\"reason\":\"draining\"")).count()).isEqualTo(1);
        assertThat(lines.stream().filter(l -> l.contains("\"event\":\"session\"")
                && l.contains("\"bytes_from_destination\":" + SlowDownload.SIZE)).count()).isEqualTo(1);
    }

    /**
     * A supervisor may stop a command the moment it says it is ready: SIGTERM sent as soon as the server printed
     * "listening" and the forward "forwarding" finds their signal handling in place (each drains or closes and exits
     * 0, instead of the JVM's default exit 143 for a signal that came before the handlers).
     */
    @Test
    void sigtermAsSoonAsReady_exitsZero(@TempDir Path dir) throws Exception {
        Path certs = certs(dir);
        Path serverErr = dir.resolve("server.err");
        Process server = start(serverErr, "server", "--certs", certs.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0", "--no-http");
        Matcher m = Pattern.compile("^listening tcp=127\\.0\\.0\\.1:(\\d+) .*").matcher(firstLine(server, serverErr));
        assertThat(m.matches()).isTrue();
        Path forwardErr = dir.resolve("forward.err");
        Process forward = start(forwardErr, "forward", "--server", "127.0.0.1:" + m.group(1), "--certs",
                certs.toString(), "--to", "127.0.0.1:9");
        assertThat(firstLine(forward, forwardErr)).startsWith("forwarding ");
        forward.destroy(); // SIGTERM, at once
        server.destroy();
        assertThat(forward.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(forward.exitValue()).as(Files.readString(forwardErr)).isZero();
        assertThat(server.exitValue()).as(Files.readString(serverErr)).isZero();
    }

    /**
     * Started with SIGHUP ignored (as under nohup, where the JVM never passes it on): the server says at start that
     * kill -HUP will not reload and that its files are still watched, runs, and drains and exits 0 on SIGTERM.
     */
    @Test
    void sighupIgnoredAtStart_isReported_serverStillRunsAndDrains(@TempDir Path dir) throws Exception {
        Path certs = certs(dir);
        Path err = dir.resolve("server.err");
        Process server = startWithHup(err, "SIG_IGN", "server", "--certs", certs.toString(), "--tcp",
                "127.0.0.1:0", "--udp", "127.0.0.1:0", "--no-http");
        assertThat(firstLine(server, err)).startsWith("listening ");
        assertThat(Files.readString(err)).as("the warning at start")
                .contains("SIGHUP is ignored by this process")
                .contains("kill -HUP will not reload the certificates")
                .contains("they still reload when their files change");
        server.destroy(); // SIGTERM
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).as(Files.readString(err)).isZero();
    }

    /**
     * Under systemd (NOTIFY_SOCKET set, here a unix datagram socket a Python peer reads): READY=1 once listening,
     * WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC then READY=1 around a SIGHUP reload,
     * STOPPING=1 on SIGTERM; every message names the server's pid.
     */
    @Test
    void systemdNotifications_ready_watchdog_reloading_stopping(@TempDir Path dir) throws Exception {
        io.streamproxy.testkit.OutsidePeers.require("python3");
        if (!onPath("systemd-notify")) {
            io.streamproxy.testkit.OutsidePeers.require("socat");
        }
        Path certs = certs(dir);
        Path socket = dir.resolve("notify.sock");
        Path received = dir.resolve("notify.txt");
        Path script = dir.resolve("notify.py");
        Files.writeString(script, String.join("\n",
                "import socket, sys",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "s.bind(sys.argv[1])",
                "print('bound', flush=True)",
                "with open(sys.argv[2], 'ab', buffering=0) as f:",
                "    while True:",
                "        f.write(s.recv(65536).replace(b'\\n', b' ') + b'\\n')", ""));
        Process receiver = new ProcessBuilder("python3", script.toString(), socket.toString(), received.toString())
                .redirectError(dir.resolve("notify.err").toFile()).start();
        processes.add(receiver);
        assertThat(firstLine(receiver, dir.resolve("notify.err"))).isEqualTo("bound");

        Path err = dir.resolve("server.err");
        ProcessBuilder pb = new ProcessBuilder(withHup("SIG_DFL", jarCommand("server", "--certs", certs.toString(),
                "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"))).redirectError(err.toFile());
        pb.environment().put("NOTIFY_SOCKET", socket.toString());
        pb.environment().put("WATCHDOG_USEC", "400000");
        Process server = pb.start();
        processes.add(server);
        assertThat(firstLine(server, err)).startsWith("listening ");
        String pid = "MAINPID=" + server.pid();
        awaitNotification(received, l -> l.contains("READY=1") && l.contains(pid) && l.contains("STATUS=listening"));
        awaitNotification(received, l -> l.contains("WATCHDOG=1") && l.contains(pid));
        Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(server.pid())).start();
        assertThat(hup.waitFor(10, TimeUnit.SECONDS)).isTrue();
        awaitNotification(received, l -> l.contains("RELOADING=1") && l.matches(".*MONOTONIC_USEC=\\d+.*"));
        awaitNotification(received, l -> l.contains("READY=1") && l.contains("certificate reload: success"));
        server.destroy(); // SIGTERM
        awaitNotification(received, l -> l.contains("STOPPING=1") && l.contains(pid));
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).as(Files.readString(err)).isZero();
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, program)));
    }

    private static void awaitNotification(Path file, java.util.function.Predicate<String> line) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.readAllLines(file).stream().anyMatch(line)) {
                return;
            }
            Thread.onSpinWait();
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        throw new AssertionError("no such notification within " + WAIT + "; got: "
                + (Files.exists(file) ? Files.readAllLines(file) : "nothing"));
    }

    private static double successfulReloads(int port, TlsCredentials client) throws Exception {
        Matcher m = Pattern.compile("(?m)^stream_proxy_certificate_reloads_total\\{outcome=\"success\"[^}]*} (\\S+)$")
                .matcher(CliTest.httpGet(port, client, "/metrics"));
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static void echo(io.streamproxy.TcpTunnel t, String text) throws java.io.IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        t.output().write(b);
        t.output().flush();
        assertThat(t.input().readNBytes(b.length)).isEqualTo(b);
    }

    private static long readToEnd(java.io.InputStream in) throws java.io.IOException {
        byte[] buf = new byte[65536];
        long n = 0;
        for (int r; (r = in.read(buf)) >= 0; ) {
            n += r;
        }
        return n;
    }

    /** The serial of the certificate the server presents to a new handshake (through its HTTPS route). */
    private static java.math.BigInteger servedSerial(java.net.InetSocketAddress server, TlsCredentials client)
            throws Exception {
        try (javax.net.ssl.SSLSocket s = io.streamproxy.testkit.RawTlsClient.connect(server, client, null,
                new String[] {"http/1.1"}, WAIT)) {
            return ((java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    /** A destination that sends {@link #SIZE} bytes over 4 seconds to its one client, then ends the stream. */
    private static final class SlowDownload implements AutoCloseable {
        static final int SIZE = 40 * 16384;
        private final java.net.ServerSocket listener = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress());
        private final CompletableFuture<Boolean> done = new CompletableFuture<>();
        /** Paces the download: one chunk every 100 ms, from a timer, after the one client connected. */
        private final java.util.concurrent.ScheduledExecutorService pace =
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "slow-download");
                    t.setDaemon(true);
                    return t;
                });

        SlowDownload() throws java.io.IOException {
            pace.execute(() -> {
                Socket s;
                try {
                    s = listener.accept();
                } catch (java.io.IOException e) {
                    done.complete(false);
                    return;
                }
                byte[] chunk = new byte[16384];
                int[] sent = {0};
                pace.scheduleAtFixedRate(() -> {
                    try {
                        if (sent[0] < 40) {
                            s.getOutputStream().write(chunk);
                            s.getOutputStream().flush();
                            sent[0]++;
                            return;
                        }
                        s.shutdownOutput();
                        s.close();
                        done.complete(true);
                    } catch (java.io.IOException e) {
                        done.complete(false);
                    }
                    throw new java.util.concurrent.CancellationException("done"); // ends the schedule
                }, 0, 100, TimeUnit.MILLISECONDS);
            });
        }

        String host() {
            return "127.0.0.1";
        }

        int port() {
            return listener.getLocalPort();
        }

        boolean finishedInTime() throws Exception {
            return done.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }

        @Override
        public void close() throws java.io.IOException {
            listener.close();
            pace.shutdownNow();
        }
    }
}

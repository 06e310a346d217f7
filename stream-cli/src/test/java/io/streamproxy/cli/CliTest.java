package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Destination;
import io.streamproxy.testkit.RawTlsClient;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.UdpDestination;
import io.streamproxy.TlsCredentials;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every command, in-process. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CliTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    /** Commands that block until stopped each get a thread (the common pool may have only one on 2 cores). */
    private final java.util.concurrent.ExecutorService commands = java.util.concurrent.Executors.newCachedThreadPool();

    @org.junit.jupiter.api.AfterEach
    void stopCommands() throws Exception {
        commands.shutdownNow();
        assertThat(commands.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
    }

    /** A command run in-process with captured output. */
    static final class Run {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cl = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true));
        int code;

        Run exec(String... args) {
            code = cl.execute(args);
            return this;
        }
    }

    private static Run run(String... args) {
        return new Run().exec(args);
    }

    @Test
    void processDefaults_turnNettysLeakDetectorOff_unlessTheOperatorSetIt() {
        java.util.Properties unset = new java.util.Properties();
        Main.processDefaults(unset);
        assertThat(unset.getProperty("io.netty.leakDetection.level")).isEqualTo("disabled");

        java.util.Properties operator = new java.util.Properties();
        operator.setProperty("io.netty.leakDetection.level", "paranoid");
        Main.processDefaults(operator);
        assertThat(operator.getProperty("io.netty.leakDetection.level")).isEqualTo("paranoid");
    }

    @Test
    void certs_writesSixFiles_keysOwnerOnly_andRefusesToOverwrite(@TempDir Path dir) throws Exception {
        Run r = run("certs", "--out", dir.toString(), "--san", "agent.internal", "--san", "10.1.2.3");
        assertThat(r.code).as(r.err.toString()).isZero();
        for (String f : CertsCommand.FILES) {
            assertThat(dir.resolve(f)).exists();
        }
        assertThat(Files.getPosixFilePermissions(dir.resolve("server-key.pem")))
                .isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
        assertThat(Files.readString(dir.resolve("client-key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----");
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).as("no temporary file left")
                    .containsExactlyInAnyOrderElementsOf(CertsCommand.FILES);
        }
        TlsCredentials server = TlsCredentials.fromPem(dir.resolve("ca.pem"), dir.resolve("server.pem"),
                dir.resolve("server-key.pem"));
        X509Certificate cert = server.certificateChain().get(0);
        assertThat(cert.getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))))
                .contains("godoxy.agent", "localhost", "127.0.0.1", "agent.internal", "10.1.2.3");
        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");

        Run again = run("certs", "--out", dir.toString());
        assertThat(again.code).isEqualTo(2);
        assertThat(again.err.toString()).contains("exists; use --force").doesNotContain("\tat ");
        assertThat(run("certs", "--out", dir.toString(), "--force").code).isZero();
    }

    @Test
    void durations_areWrittenAsTheOptionsTakeThem_andReadBack() {
        for (String text : List.of("500ms", "1500ms", "0s", "20s", "90s", "2m", "61m", "1h", "25h")) {
            assertThat(Values.text(Values.duration(text))).isEqualTo(text);
        }
        assertThat(Values.text(Duration.ofSeconds(120))).isEqualTo("2m");
    }

    @Test
    void badInput_isOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        assertOneLineError(run("server", "--bogus"), "Unknown option");
        assertOneLineError(run("probe", "--server", "nohostport", "--certs", dir.toString()), "HOST:PORT");
        assertOneLineError(run("probe", "--server", "127.0.0.1:1", "--certs", dir.toString(), "--timeout", "5 y"),
                "duration");
        run("certs", "--out", dir.toString());
        // a bound or an idle timeout of 0 would end everything at once: refused, naming the option
        assertOneLineError(run("probe", "--server", "127.0.0.1:1", "--certs", dir.toString(), "--timeout", "0s"),
                "'--timeout': '0s' is not a positive duration");
        assertOneLineError(run("server", "--certs", dir.toString(), "--header-timeout", "0ms"),
                "'--header-timeout': '0ms' is not a positive duration");
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp-idle-timeout", "3000000h"),
                "'3000000h' is too long a duration");
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp-idle-timeout", "99999999999999999999h"),
                "is too long a duration");
        assertOneLineError(run("forward", "--certs", dir.toString(), "--server", "127.0.0.1:1", "--to",
                "127.0.0.1:53", "--udp", "--udp-idle-timeout", "0s"), "'--udp-idle-timeout': '0s' is not a positive");
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0", "--allow", "10.0.0.0/33"), "prefix length");
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0", "--agent-runtime", "lxc"), "docker or podman");
        assertOneLineError(run("server", "--certs", dir.toString(), "--handshake-rate", "0"), "more than 0");
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0", "--proxy-protocol", "v1"), "takes v2");
        assertOneLineError(run("server", "--certs", dir.toString(), "--handshake-rate-per-source", "5/x"),
                "not a rate");
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0", "--max-sessions-per-source", "0"), "at least 1");
        assertOneLineError(run("server", "--certs", dir.resolve("missing").toString(), "--tcp", "127.0.0.1:0"),
                "cannot read");
        Files.copy(dir.resolve("client-key.pem"), dir.resolve("server-key.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertOneLineError(run("server", "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp",
                "127.0.0.1:0"), "does not match");
        Run verbose = run("server", "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0",
                "--verbose");
        assertThat(verbose.code).isEqualTo(2);
        assertThat(verbose.err.toString()).contains("\tat ");
    }

    @Test
    void portInUse_isOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        run("certs", "--out", dir.toString());
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertOneLineError(run("server", "--certs", dir.toString(), "--tcp",
                    "127.0.0.1:" + taken.getLocalPort(), "--udp", "127.0.0.1:0"), "cannot listen");
        }
    }

    private static void assertOneLineError(Run r, String contains) {
        assertThat(r.code).as("exit code; stderr: %s", r.err).isEqualTo(2);
        String err = r.err.toString().trim();
        assertThat(err).contains(contains);
        assertThat(err.lines().count()).as(err).isEqualTo(1);
    }

    @Test
    void server_forward_probe_http_endToEnd_inProcess(@TempDir Path dir) throws Exception {
        run("certs", "--out", dir.toString());
        try (TcpDestination echo = TcpDestination.echo(); UdpDestination udpEcho = UdpDestination.echo()) {
            Run server = new Run();
            ServerCommand command = server.cl.getSubcommands().get("server").getCommand();
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> server.cl.execute("server",
                    "--certs", dir.toString(), "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0",
                    "--deny", "127.0.0.1:1-10", "--agent-name", "cli-test-agent", "--agent-runtime", "podman"),
                    commands);
            String line = awaitLine(server.out, "listening ", exit, server.err);
            Matcher m = Pattern.compile("listening tcp=(\\S+):(\\d+) udp=(\\S+):(\\d+) transport=(\\w+)")
                    .matcher(line);
            assertThat(m.find()).as(line).isTrue();
            int tcpPort = Integer.parseInt(m.group(2));
            int udpPort = Integer.parseInt(m.group(4));
            assertThat(m.group(5)).isEqualTo("netty");

            Run probe = run("probe", "--server", "127.0.0.1:" + tcpPort, "--certs", dir.toString());
            assertThat(probe.code).as(probe.err.toString()).isZero();
            assertThat(probe.out.toString()).matches("ok tcp 127\\.0\\.0\\.1:" + tcpPort + " in \\d+ ms\\s*");
            Run probeUdp = run("probe", "--udp", "--server", "127.0.0.1:" + udpPort, "--certs", dir.toString());
            assertThat(probeUdp.code).as(probeUdp.err.toString()).isZero();

            // TCP forward with half-close
            Run forward = new Run();
            ForwardCommand fwd = forward.cl.getSubcommands().get("forward").getCommand();
            CompletableFuture<Integer> fwdExit = CompletableFuture.supplyAsync(() -> forward.cl.execute("forward",
                    "--server", "127.0.0.1:" + tcpPort, "--certs", dir.toString(), "--to",
                    echo.host() + ":" + echo.port()), commands);
            String fline = awaitLine(forward.out, "forwarding ", fwdExit, forward.err);
            Matcher fm = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) -> ").matcher(fline);
            assertThat(fm.find()).as(fline).isTrue();
            try (Socket s = new Socket("127.0.0.1", Integer.parseInt(fm.group(1)))) {
                s.setSoTimeout((int) WAIT.toMillis());
                s.getOutputStream().write("through the forward".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("through the forward");
            }
            fwd.stop.countDown();
            assertThat(fwdExit.get(20, TimeUnit.SECONDS)).isZero();

            // UDP forward
            Run uforward = new Run();
            ForwardCommand ufwd = uforward.cl.getSubcommands().get("forward").getCommand();
            CompletableFuture<Integer> ufwdExit = CompletableFuture.supplyAsync(() -> uforward.cl.execute("forward",
                    "--udp", "--server", "127.0.0.1:" + udpPort, "--certs", dir.toString(), "--to",
                    udpEcho.host() + ":" + udpEcho.port()), commands);
            String uline = awaitLine(uforward.out, "forwarding ", ufwdExit, uforward.err);
            Matcher um = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) -> ").matcher(uline);
            assertThat(um.find()).isTrue();
            try (DatagramChannel c = DatagramChannel.open()) {
                c.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(um.group(1))));
                c.socket().setSoTimeout((int) WAIT.toMillis());
                c.write(ByteBuffer.wrap("datagram".getBytes(StandardCharsets.US_ASCII)));
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[64], 64);
                c.socket().receive(p);
                assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII)).isEqualTo("datagram");
            }
            ufwd.stop.countDown();
            assertThat(ufwdExit.get(20, TimeUnit.SECONDS)).isZero();

            // the HTTPS API on the same TCP port
            TlsCredentials client = TlsCredentials.fromPem(dir.resolve("ca.pem"), dir.resolve("client.pem"),
                    dir.resolve("client-key.pem"));
            assertThat(httpGet(tcpPort, client, "/healthz")).startsWith("HTTP/1.1 200").endsWith("ok");
            assertThat(httpGet(tcpPort, client, "/godoxy/agent/info")).startsWith("HTTP/1.1 200")
                    .contains("\"name\":\"cli-test-agent\"").contains("\"runtime\":\"podman\"");
            String metrics = httpGet(tcpPort, client, "/metrics");
            assertThat(metrics).startsWith("HTTP/1.1 200").contains("stream_sessions_total")
                    .contains("stream_bytes_total").contains("stream_health_probes_total");

            // a denied destination is refused and counted
            try (io.streamproxy.StreamClient c = ClientFactory.create(new InetSocketAddress("127.0.0.1", tcpPort),
                    client, null, "netty", WAIT);
                 io.streamproxy.TcpTunnel t = c.openTcp(Destination.of("127.0.0.1", 5))) {
                t.setReadTimeout(WAIT);
                assertThat(t.input().read()).isEqualTo(-1);
            }
            assertThat(httpGet(tcpPort, client, "/metrics")).contains("reason=\"policy_denied\"");

            command.stop.countDown();
            assertThat(exit.get(20, TimeUnit.SECONDS)).isZero();
        }
    }

    @Test
    void probe_reportsRefusedConnection_withExitOne(@TempDir Path dir) throws Exception {
        run("certs", "--out", dir.toString());
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Run r = run("probe", "--server", "127.0.0.1:" + port, "--certs", dir.toString(), "--timeout", "3s");
        assertThat(r.code).isEqualTo(1);
        assertThat(r.err.toString().trim()).startsWith("failed tcp 127.0.0.1:" + port + ": connection refused");
    }

    @Test
    void demo_runsOneTransportQuickly_andPassesItsChecks() {
        Run r = run("demo", "--transport", "jdk", "--tcp-mib", "8", "--datagrams", "500");
        assertThat(r.code).as(r.err.toString()).isZero();
        assertThat(r.out.toString()).contains("tunnel jdk").contains("direct loopback").contains("all checks passed");
    }

    private static String awaitLine(StringWriter out, String prefix, CompletableFuture<Integer> exit,
                                    StringWriter err) throws Exception {
        long end = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < end) {
            for (String l : out.toString().split("\n")) {
                if (l.startsWith(prefix)) {
                    return l;
                }
            }
            if (exit.isDone()) {
                throw new AssertionError("command exited with " + exit.get() + ": " + err);
            }
            try {
                exit.get(50, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // still running: look again
            }
        }
        throw new AssertionError("no '" + prefix + "' line within " + WAIT + "; stderr: " + err);
    }

    static String httpGet(int port, TlsCredentials client, String path) throws Exception {
        try (SSLSocket s = RawTlsClient.connect(new InetSocketAddress("127.0.0.1", port), client, null,
                new String[] {"http/1.1"}, WAIT)) {
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}

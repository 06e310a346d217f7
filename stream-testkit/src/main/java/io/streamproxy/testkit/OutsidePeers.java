package io.streamproxy.testkit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Drives a server with peers nobody here wrote: {@code openssl s_client} and Python's {@code ssl} module. A missing
 * program skips the test with the reason on a developer machine, and fails it under CI (where {@code .ci/run}
 * installs them), so CI never skips them silently.
 */
public final class OutsidePeers {
    private OutsidePeers() {
    }

    /**
     * Returns the path of a program on the PATH, skipping (or, under CI, failing) the test when it is missing.
     *
     * @param program the program name
     * @return its path
     */
    public static Path require(String program) {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                Path candidate = Path.of(dir, program);
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        String reason = program + " is not installed (on Debian: apt-get install "
                + (program.startsWith("python") ? "python3" : program) + ")";
        if (System.getenv("CI") != null) {
            fail(reason + "; CI must install it");
        }
        assumeTrue(false, reason);
        return null;
    }

    /** The outcome of running an outside peer. */
    public record Result(byte[] stdout, String stderr, int exitCode) {
        /** @return stdout decoded as UTF-8 */
        public String stdoutText() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    /**
     * Runs {@code openssl s_client} against a TLS server with the stream ALPN id and the PKI's client certificate,
     * feeds it {@code input} (a header built without our codec, then payload), and reads {@code expected} bytes of
     * its output.
     *
     * @param server   the server
     * @param pki      the PKI whose files to use
     * @param input    bytes to send
     * @param expected how many bytes to read back before stopping the peer
     * @param timeout  the bound on the whole exchange
     * @return what the peer printed
     */
    public static Result opensslTls(InetSocketAddress server, TestPki pki, byte[] input, int expected,
                                    Duration timeout) {
        Path openssl = require("openssl");
        List<String> cmd = List.of(openssl.toString(), "s_client", "-connect", hostPort(server),
                "-alpn", "godoxy-agent-stream/1", "-servername", "godoxy.agent",
                "-cert", pki.clientCertFile().toString(), "-key", pki.clientKeyFile().toString(),
                "-CAfile", pki.caFile().toString(), "-verify_return_error", "-verify_hostname", "godoxy.agent",
                "-quiet");
        return run(cmd, input, expected, timeout, false);
    }

    /**
     * Runs a small Python {@code ssl} client (it builds its own header with {@code struct} and {@code zlib.crc32})
     * that sends {@code payload} to destHost:destPort through the server and prints what comes back.
     *
     * @param server     the server
     * @param pki        the PKI whose files to use
     * @param destHost   the destination host for the header
     * @param destPort   the destination port for the header
     * @param payload    bytes to send behind the header, in the same write
     * @param tlsVersion {@code "1.2"} or {@code "1.3"}
     * @param timeout    the bound on the whole exchange
     * @return what the client printed (the echoed payload) and its stderr (the negotiated version)
     */
    public static Result pythonTls(InetSocketAddress server, TestPki pki, String destHost, int destPort,
                                   byte[] payload, String tlsVersion, Duration timeout) {
        Path python = require("python3");
        Path script = extractScript("stream_client.py");
        List<String> cmd = new ArrayList<>(List.of(python.toString(), script.toString(),
                server.getAddress().getHostAddress(), Integer.toString(server.getPort()),
                pki.caFile().toString(), pki.clientCertFile().toString(), pki.clientKeyFile().toString(),
                destHost, Integer.toString(destPort), tlsVersion));
        return run(cmd, payload, -1, timeout, true);
    }

    /**
     * Starts {@code openssl s_client -dtls1_2} against a DTLS server, offering only
     * ECDHE-ECDSA-AES128-GCM-SHA256 and the PKI's client certificate. Each {@link PeerProcess#write} that the peer
     * reads at once becomes one DTLS record; what the server sends comes out of its standard output.
     *
     * @param server the server
     * @param pki    the PKI whose files to use
     * @return the running peer
     */
    public static PeerProcess opensslDtls(InetSocketAddress server, TestPki pki) {
        Path openssl = require("openssl");
        return PeerProcess.start(List.of(openssl.toString(), "s_client", "-dtls1_2", "-connect", hostPort(server),
                "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-servername", "godoxy.agent",
                "-cert", pki.clientCertFile().toString(), "-key", pki.clientKeyFile().toString(),
                "-CAfile", pki.caFile().toString(), "-verify_return_error", "-verify_hostname", "godoxy.agent",
                "-quiet"));
    }

    private static String hostPort(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /**
     * Runs a Python {@code ssl} client that opens two tunnels with one context: the first as {@link #pythonTls}
     * does, the second (after waiting until {@code resumeAt}) offering the session of the first, as a client that
     * resumes does. Its stderr has a line per tunnel, {@code tunnel=N version=V reused=True|False echoed=BYTES}; its
     * stdout is what the second tunnel echoed; it exits 0 when both echoed everything, 3 when the second was cut
     * short, 4 when the second failed, 5 when the first did not echo.
     *
     * @param server     the server
     * @param pki        the PKI whose CA file to trust
     * @param clientCert the client certificate file (PEM)
     * @param clientKey  its key (PEM)
     * @param destHost   the destination host for the header
     * @param destPort   the destination port for the header
     * @param payload    bytes each tunnel sends and expects back
     * @param tlsVersion {@code "1.2"} or {@code "1.3"}
     * @param resumeAt   when to open the second tunnel, or null for at once
     * @param timeout    the bound on the whole exchange
     * @return what the client printed
     */
    public static Result pythonTlsResuming(InetSocketAddress server, TestPki pki, Path clientCert, Path clientKey,
            String destHost, int destPort, byte[] payload, String tlsVersion, java.time.Instant resumeAt,
            Duration timeout) {
        Path python = require("python3");
        extractScript("stream_client.py"); // stream_resume.py imports its header and context builders
        Path script = extractScript("stream_resume.py");
        String at = resumeAt == null ? "0" : String.format(java.util.Locale.ROOT, "%.3f",
                resumeAt.toEpochMilli() / 1000.0);
        List<String> cmd = new ArrayList<>(List.of(python.toString(), script.toString(),
                server.getAddress().getHostAddress(), Integer.toString(server.getPort()),
                pki.caFile().toString(), clientCert.toString(), clientKey.toString(),
                destHost, Integer.toString(destPort), tlsVersion, at));
        return run(cmd, payload, -1, timeout, true);
    }

    private static Path scripts;

    /** Copies a script to one folder per JVM under its own name, so that scripts can import each other. */
    private static synchronized Path extractScript(String name) {
        try (InputStream in = OutsidePeers.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            if (scripts == null) {
                scripts = Files.createTempDirectory("stream-proxy-peers-");
                scripts.toFile().deleteOnExit();
            }
            Path file = scripts.resolve(name);
            Files.write(file, in.readAllBytes());
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Result run(List<String> cmd, byte[] input, int expected, Duration timeout, boolean closeInput) {
        Process p;
        Path err;
        try {
            err = Files.createTempFile("stream-proxy-peer-", ".err");
            err.toFile().deleteOnExit();
            p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            CompletableFuture<byte[]> out = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try {
                    InputStream in = p.getInputStream();
                    out.complete(expected >= 0 ? in.readNBytes(expected) : in.readAllBytes());
                } catch (IOException | RuntimeException e) {
                    out.completeExceptionally(e);
                }
            }, "testkit-peer-output");
            reader.setDaemon(true);
            reader.start();
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write(input);
                stdin.flush();
                if (!closeInput) {
                    // openssl -quiet ignores end of input; the test stops it once it has read the reply
                    stdin.flush();
                }
            } catch (IOException e) {
                // the peer exited early; its stderr says why
            }
            byte[] stdout;
            try {
                stdout = out.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                p.destroyForcibly();
                throw new AssertionError(cmd.get(0) + " did not finish within " + timeout + "; stderr: "
                        + readQuietly(err));
            } catch (ExecutionException e) {
                throw new AssertionError(cmd.get(0) + " output failed: " + e.getCause(), e.getCause());
            }
            int exit;
            if (expected >= 0) {
                p.destroy();
                exit = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? p.exitValue() : -1;
            } else {
                exit = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? p.exitValue() : -1;
            }
            return new Result(stdout, readQuietly(err), exit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } finally {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}

package io.streamproxy.bench;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.testkit.TcpDestination;
import io.streamproxy.testkit.TestPki;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * TCP figures, each path measured in the same run: raw loopback TCP, our tunnel (netty client and server, with the
 * JDK TLS engine and with OpenSSL; and the jdk transport), and, when installed, a socat OPENSSL tunnel and a stunnel
 * tunnel, both with mutual TLS. Three measures: bulk (1 GiB one way, SHA-256 checked by the destination), 1 KiB
 * request-reply latency (p50/p99), and new tunnels per second (connect, handshake, header, first byte back). Each
 * path is warmed up with 256 MiB first, so that no path pays the JIT compilation of the shared crypto code for the
 * others.
 *
 * <pre>
 * ./mvnw -B -q package -DskipTests -pl stream-bench -am
 * java -cp stream-bench/target/stream-bench.jar io.streamproxy.bench.TcpBench [bulkMiB] [seconds] [pathFilter]
 * </pre>
 */
public final class TcpBench {
    private TcpBench() {
    }

    /** One way to reach a destination. */
    interface Path {
        Conn open(InetSocketAddress destination) throws IOException;
    }

    /** A byte stream to a destination. */
    interface Conn extends Closeable {
        InputStream in() throws IOException;

        OutputStream out() throws IOException;
    }

    /** How long a read on a benchmark's own socket may wait: a path that stops relaying fails the run, not hangs it. */
    static final int READ_TIMEOUT_MILLIS = 60_000;

    static Conn socket(InetSocketAddress to) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(READ_TIMEOUT_MILLIS);
        s.connect(to, 10_000);
        return new Conn() {
            @Override
            public InputStream in() throws IOException {
                return s.getInputStream();
            }

            @Override
            public OutputStream out() throws IOException {
                return s.getOutputStream();
            }

            @Override
            public void close() throws IOException {
                s.close();
            }
        };
    }

    private static Conn tunnel(TcpTunnel t) {
        return new Conn() {
            @Override
            public InputStream in() {
                return t.input();
            }

            @Override
            public OutputStream out() {
                return t.output();
            }

            @Override
            public void close() throws IOException {
                t.close();
            }
        };
    }

    /**
     * Runs the benchmark.
     *
     * @param args bulk size in MiB (default 1024), seconds per rate measure (default 3)
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        long bulkBytes = (args.length > 0 ? Long.parseLong(args[0]) : 1024) << 20;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String only = args.length > 2 ? args[2] : "";
        TestPki pki = TestPki.create();
        List<Closeable> cleanup = new ArrayList<>();
        try (HashingSink sink = new HashingSink(); TcpDestination echo = TcpDestination.echo()) {
            Map<String, Path> paths = new LinkedHashMap<>();
            paths.put("direct loopback TCP", TcpBench::socket);
            paths.put("tunnel netty (JDK TLS)", ourPath(pki, "netty", "jdk", cleanup));
            paths.put("tunnel netty (OpenSSL)", ourPath(pki, "netty", "openssl", cleanup));
            paths.put("tunnel jdk", ourPath(pki, "jdk", null, cleanup));
            ExternalTunnels external = new ExternalTunnels(pki, sink.address(), echo.address());
            cleanup.add(external);
            if (external.socatAvailable()) {
                paths.put("socat OPENSSL", external.socat());
            }
            if (external.stunnelAvailable()) {
                paths.put("stunnel", external.stunnel());
            }
            System.out.printf(Locale.ROOT, "TCP on loopback, %s, %d cores, bulk %d MiB, %d s per rate%n",
                    System.getProperty("java.vm.version"), Runtime.getRuntime().availableProcessors(),
                    bulkBytes >> 20, seconds);
            System.out.printf(Locale.ROOT, "%-26s %12s %10s %10s %12s%n", "path", "bulk MB/s", "p50 us",
                    "p99 us", "tunnels/s");
            double directBulk = 0;
            for (Map.Entry<String, Path> e : paths.entrySet()) {
                if (!e.getKey().contains(only) && !e.getKey().startsWith("direct")) {
                    continue;
                }
                Path p = e.getValue();
                try {
                    bulk(p, sink, Math.min(bulkBytes, 256L << 20)); // warm-up: JIT of the TLS and relay paths
                    com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                            java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                    long cpu0 = os.getProcessCpuTime();
                    double mbs = bulk(p, sink, bulkBytes);
                    // this process's CPU per GiB moved (client, server and sink when they run here): steadier than
                    // MB/s on a machine that is doing other work
                    double cpuPerGib = (os.getProcessCpuTime() - cpu0) / 1e9 / (bulkBytes / (double) (1L << 30));
                    System.out.printf(Locale.ROOT, "  %s: %.2f CPU s per GiB in this process%n", e.getKey(),
                            cpuPerGib);
                    if (directBulk == 0) {
                        directBulk = mbs;
                    }
                    long[] lat = latency(p, echo.address(), 20_000);
                    double rate = tunnelsPerSecond(p, echo.address(), seconds);
                    System.out.printf(Locale.ROOT, "%-26s %12.0f %10.1f %10.1f %12.0f%n", e.getKey(), mbs,
                            lat[0] / 1000.0, lat[1] / 1000.0, rate);
                } catch (IOException | RuntimeException ex) {
                    System.out.printf(Locale.ROOT, "%-26s failed: %s%n", e.getKey(), ex);
                }
            }
        } finally {
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                cleanup.get(i).close();
            }
        }
    }

    private static Path ourPath(TestPki pki, String transport, String ssl, List<Closeable> cleanup)
            throws IOException {
        StreamServerOptions.Builder sb = StreamServerOptions.builder(pki.serverCredentials()).transport(transport)
                .tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        if (ssl != null) {
            sb.transportOption("netty.ssl", ssl);
        }
        extraOptions().forEach(sb::transportOption);
        StreamServer server = StreamServer.start(sb.build());
        cleanup.add(server);
        StreamClientOptions.Builder cb = StreamClientOptions.builder(server.tcpAddress(), pki.clientCredentials())
                .transport(transport);
        if (ssl != null) {
            cb.transportOption("netty.ssl", ssl);
        }
        extraOptions().forEach(cb::transportOption);
        StreamClient client = StreamClient.create(cb.build());
        cleanup.add(client);
        return to -> tunnel(client.openTcp(to.getAddress().getHostAddress(), to.getPort()));
    }

    /** Transport options for both ends from system properties {@code -Dbench.option.NAME=VALUE}. */
    private static Map<String, String> extraOptions() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("bench.option.")) {
                m.put(name.substring("bench.option.".length()), System.getProperty(name));
            }
        }
        return m;
    }

    /** Sends {@code total} bytes behind a length, then waits for the destination's SHA-256 of them. */
    static double bulk(Path path, HashingSink sink, long total) throws Exception {
        byte[] block = new byte[1 << 20];
        new Random(11).nextBytes(block);
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        for (long done = 0; done < total; done += block.length) {
            expected.update(block);
        }
        byte[] want = expected.digest();
        try (Conn c = path.open(sink.address())) {
            long start = System.nanoTime();
            DataOutputStream out = new DataOutputStream(c.out());
            out.writeLong(total);
            for (long done = 0; done < total; done += block.length) {
                out.write(block);
            }
            out.flush();
            byte[] got = new DataInputStream(c.in()).readNBytes(32);
            long nanos = System.nanoTime() - start;
            if (!Arrays.equals(got, want)) {
                throw new IOException("SHA-256 mismatch after " + total + " bytes");
            }
            return total / 1e6 / (nanos / 1e9);
        }
    }

    /** 1 KiB round trips on one connection: p50 and p99 of {@code samples}, after 2,000 round trips. */
    static long[] latency(Path path, InetSocketAddress echo, int samples) throws IOException {
        long[] t = new long[samples];
        try (RoundTrips r = new RoundTrips(path, echo)) {
            r.warm(0);
            r.measure(t, 0, samples);
        }
        return percentiles(t);
    }

    /** p50 and p99 of {@code samples} (sorted in place). */
    static long[] percentiles(long[] samples) {
        Arrays.sort(samples);
        return new long[] {samples[samples.length / 2], samples[(int) (samples.length * 0.99)]};
    }

    /**
     * 1 KiB round trips on one open connection, measured in batches, so that a caller can take turns between paths
     * on the same connections.
     */
    static final class RoundTrips implements Closeable {
        private final Conn conn;
        private final OutputStream out;
        private final InputStream in;
        private final byte[] request = new byte[1024];
        private final byte[] reply = new byte[1024];

        RoundTrips(Path path, InetSocketAddress echo) throws IOException {
            conn = path.open(echo);
            try {
                out = conn.out();
                in = conn.in();
            } catch (IOException | RuntimeException e) {
                conn.close();
                throw e;
            }
        }

        /** 2,000 round trips, and more until {@code nanos} passed (a JVM on the path compiles its relay loop). */
        void warm(long nanos) throws IOException {
            long end = System.nanoTime() + nanos;
            for (int i = 0; i < 2000 || System.nanoTime() < end; i++) {
                roundTrip();
            }
        }

        /** {@code count} round trips, their times in nanoseconds stored from {@code into[from]}. */
        void measure(long[] into, int from, int count) throws IOException {
            for (int i = from; i < from + count; i++) {
                long start = System.nanoTime();
                roundTrip();
                into[i] = System.nanoTime() - start;
            }
        }

        private void roundTrip() throws IOException {
            out.write(request);
            out.flush();
            int got = 0;
            while (got < reply.length) {
                int n = in.read(reply, got, reply.length - got);
                if (n < 0) {
                    throw new IOException("echo closed");
                }
                got += n;
            }
        }

        @Override
        public void close() throws IOException {
            conn.close();
        }
    }

    private static double tunnelsPerSecond(Path path, InetSocketAddress echo, int seconds) throws IOException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long start = System.nanoTime();
        long count = 0;
        while (System.nanoTime() < end) {
            try (Conn c = path.open(echo)) {
                c.out().write(42);
                c.out().flush();
                if (c.in().read() != 42) {
                    throw new IOException("no echo");
                }
            }
            count++;
        }
        return count / ((System.nanoTime() - start) / 1e9);
    }

    /** A destination that reads a length, then that many bytes, and answers with their SHA-256. */
    static final class HashingSink implements Closeable {
        private final ServerSocket listener;
        private final Thread acceptor;

        HashingSink() throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(this::accept, "bench-sink");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) listener.getLocalSocketAddress();
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket s = listener.accept();
                    Thread t = new Thread(() -> serve(s), "bench-sink-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void serve(Socket s) {
            try (s) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                long left = in.readLong();
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                byte[] buf = new byte[256 * 1024];
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        return;
                    }
                    sha.update(buf, 0, n);
                    left -= n;
                }
                s.getOutputStream().write(sha.digest());
                s.getOutputStream().flush();
                in.read(); // wait for the client to close
            } catch (Exception e) {
                // client went away
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    /** socat and stunnel TLS tunnels (client and server side) in front of the sink and the echo. */
    static final class ExternalTunnels implements Closeable {
        private final TestPki pki;
        private final InetSocketAddress sink;
        private final InetSocketAddress echo;
        private final List<Process> processes = new ArrayList<>();
        /** The processes of each peer's tunnels, by peer ("socat", "stunnel"). */
        private final Map<String, List<Long>> pids = new LinkedHashMap<>();
        /** The TLS server side of each peer's tunnel, by peer ("socat", "stunnel") and target. */
        private final Map<String, Map<InetSocketAddress, InetSocketAddress>> serverSides = new LinkedHashMap<>();

        ExternalTunnels(TestPki pki, InetSocketAddress sink, InetSocketAddress echo) {
            this.pki = pki;
            this.sink = sink;
            this.echo = echo;
        }

        boolean socatAvailable() {
            return Files.isExecutable(java.nio.file.Path.of("/usr/bin/socat"));
        }

        boolean stunnelAvailable() {
            return Files.isExecutable(java.nio.file.Path.of("/usr/bin/stunnel4"));
        }

        Path socat() throws IOException {
            Map<InetSocketAddress, InetSocketAddress> front = new LinkedHashMap<>();
            for (InetSocketAddress target : List.of(sink, echo)) {
                int serverPort = freePort();
                int clientPort = freePort();
                start("socat", List.of("socat", "OPENSSL-LISTEN:" + serverPort + ",bind=127.0.0.1,reuseaddr,fork,cert="
                        + pki.serverCertFile() + ",key=" + pki.serverKeyFile() + ",cafile=" + pki.caFile()
                        + ",verify=1", "TCP:127.0.0.1:" + target.getPort() + ",nodelay"));
                start("socat", List.of("socat", "TCP-LISTEN:" + clientPort + ",bind=127.0.0.1,reuseaddr,fork,nodelay",
                        "OPENSSL:127.0.0.1:" + serverPort + ",cert=" + pki.clientCertFile() + ",key="
                                + pki.clientKeyFile() + ",cafile=" + pki.caFile() + ",commonname=godoxy.agent"));
                InetSocketAddress local = new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort);
                awaitListening(local);
                front.put(target, local);
                serverSides.computeIfAbsent("socat", k -> new LinkedHashMap<>()).put(target,
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort));
            }
            return to -> socket(front.get(to));
        }

        Path stunnel() throws IOException {
            StringBuilder conf = new StringBuilder("foreground = yes\npid =\n");
            Map<InetSocketAddress, InetSocketAddress> front = new LinkedHashMap<>();
            int i = 0;
            for (InetSocketAddress target : List.of(sink, echo)) {
                int serverPort = freePort();
                int clientPort = freePort();
                conf.append("[server").append(i).append("]\naccept = 127.0.0.1:").append(serverPort)
                        .append("\nconnect = 127.0.0.1:").append(target.getPort())
                        .append("\ncert = ").append(pki.serverCertFile()).append("\nkey = ").append(pki.serverKeyFile())
                        .append("\nCAfile = ").append(pki.caFile()).append("\nverifyChain = yes\nrequireCert = yes\n")
                        .append("socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n");
                conf.append("[client").append(i).append("]\nclient = yes\naccept = 127.0.0.1:").append(clientPort)
                        .append("\nconnect = 127.0.0.1:").append(serverPort)
                        .append("\ncert = ").append(pki.clientCertFile()).append("\nkey = ").append(pki.clientKeyFile())
                        .append("\nCAfile = ").append(pki.caFile()).append("\nverifyChain = yes\n")
                        .append("checkHost = godoxy.agent\n")
                        .append("socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n");
                front.put(target, new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort));
                serverSides.computeIfAbsent("stunnel", k -> new LinkedHashMap<>()).put(target,
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort));
                i++;
            }
            java.nio.file.Path file = Files.createTempFile("stunnel-", ".conf");
            file.toFile().deleteOnExit();
            Files.writeString(file, conf);
            start("stunnel", List.of("stunnel4", file.toString()));
            for (InetSocketAddress local : front.values()) {
                awaitListening(local);
            }
            return to -> socket(front.get(to));
        }

        /** The address of a peer's TLS server side in front of target, once that peer was started. */
        InetSocketAddress serverSide(String peer, InetSocketAddress target) {
            return serverSides.get(peer).get(target);
        }

        void start(String peer, List<String> cmd) throws IOException {
            java.nio.file.Path log = Files.createTempFile("bench-peer-", ".log");
            log.toFile().deleteOnExit();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            processes.add(p);
            pids.computeIfAbsent(peer, k -> new ArrayList<>()).add(p.pid());
        }

        /** The processes of a peer's tunnels (socat forks a child per connection: see {@code cpuWithChildren}). */
        List<Long> pids(String peer) {
            return pids.getOrDefault(peer, List.of());
        }

        static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }

        static void awaitListening(InetSocketAddress a) throws IOException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < end) {
                try (Socket s = new Socket()) {
                    s.connect(a, 1000);
                    return;
                } catch (IOException e) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                }
            }
            throw new IOException("nothing listens on " + a + " after 10 s");
        }

        @Override
        public void close() {
            for (Process p : processes) {
                p.destroy();
            }
            for (Process p : processes) {
                try {
                    if (!p.waitFor(5, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}

package io.streamproxy.bench;

import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The user's path, measured beside the peers in one run: real {@code stream-proxy server} and
 * {@code stream-proxy forward} processes (the shaded jar, started as {@code bin/stream-proxy} starts it), per
 * transport, against socat and stunnel TLS tunnels and a Go crypto/tls server shaped like GoDoxy's agent, all on
 * loopback with mutual TLS. It prints, per path, the median of {@code --runs} rounds (paths interleaved within each
 * round) of five figures, and each figure's ratio against its peer:
 * <ul>
 *   <li>bulk: 1 GiB (SHA-256 checked) from a client through forward and server to a sink, MB/s, against socat, and
 *       the CPU seconds per GiB of the tunnel's processes (forward and server; socat's, with the children it forks
 *       per connection; stunnel's one), as the sink's hashing shares the 2 cores with them;</li>
 *   <li>round trip: 1 KiB request and echo on one tunnel, p50 and p99, against socat, after a quarter of
 *       {@code --warmup} of the same round trips on each path, and the CPU each round trip cost the tunnel's
 *       processes (forward and server; socat's and stunnel's, with their children): the work on the path, apart
 *       from the waits to be woken; the paths take turns of 1,000 round trips on their open tunnels until each made
 *       20,000;</li>
 *   <li>new tunnels/s: 4 Go clients straight to the server (full mutual-TLS handshake, header, one byte echoed,
 *       close), against the better of stunnel and the Go server, after {@code --warmup} seconds of the same load
 *       on each path (a JVM's JIT needs them; the Go server gets them too), with the server's own CPU per tunnel;
 *       the paths take turns in 2-second slices until each had {@code --seconds}, so that a drifting machine
 *       slows them alike;</li>
 *   <li>resumed tunnels/s: the same, from clients that keep their TLS 1.3 session tickets and resume (as
 *       {@code stream-proxy forward} and the library's clients do), after a quarter of {@code --warmup}, with the
 *       share of handshakes that did resume;</li>
 *   <li>DTLS: 1200-byte datagrams echoed per second with 32 in flight through {@code forward --udp}, and the loss,
 *       against socat's DTLS tunnel, after half of {@code --warmup} of the same load on each path, and the CPU
 *       each echoed datagram cost the tunnel's two processes (forward and server, or socat's two) and this
 *       program's client and echo: how much of the machine the tunnel itself takes, beside how fast it went;</li>
 *   <li>idle memory: the growth of the server's heap (after a full GC) and of its resident memory with
 *       {@code --idle} tunnels open and idle, per tunnel.</li>
 * </ul>
 * Missing peers (socat, stunnel, Go) are installed with apt-get when run as root. {@code --jfr DIR} records every
 * stream-proxy process with JFR's profile settings; {@code --jvm-options} adds JVM options to every stream-proxy
 * process (to try a setting on the user's path; the table's heading names them).
 *
 * <pre>
 * ./mvnw -B -q package -DskipTests -pl stream-cli,stream-bench -am
 * java -cp stream-bench/target/stream-bench.jar io.streamproxy.bench.UserPathBench [--transports netty,jdk,bc]
 *      [--runs 3] [--bulk-mib 1024] [--seconds 5] [--warmup 20] [--idle 10000]
 *      [--figures bulk,rtt,rate,resume,dtls,idle] [--jfr DIR] [--jvm-options "-Da=b ..."] [--window 32]
 *      [--forward-transport NAME (the forwards' transport, to tell the server's share from theirs)]
 * </pre>
 */
public final class UserPathBench {
    private static final Pattern SERVER_LINE = Pattern.compile("listening tcp=(\\S+) udp=(\\S+) transport=(\\S+)");
    private static final Pattern FORWARD_LINE = Pattern.compile("forwarding (\\S+) -> ");
    private static final Pattern LISTEN_LINE = Pattern.compile("listening (\\S+)");

    private final Map<String, String> options;
    private final List<Closeable> cleanup = new ArrayList<>();
    private final Path work;
    private final TestPki pki = TestPki.create();
    private final String java = ProcessHandle.current().info().command().orElse("java");
    private final Path jar;
    private Path tunnelPeer;
    /** The JFR file of each stream-proxy process started with a recording, by process name. */
    private final Map<String, Path> recorded = new LinkedHashMap<>();
    private final Map<String, BenchProcess> started = new LinkedHashMap<>();

    private UserPathBench(Map<String, String> options) throws IOException {
        this.options = options;
        this.work = Files.createTempDirectory("user-path-bench-");
        this.jar = Path.of(options.getOrDefault("jar", "stream-cli/target/stream-proxy.jar"));
        if (!Files.isReadable(jar)) {
            throw new IOException("no " + jar.toAbsolutePath() + ": build it with ./mvnw -B -q package -DskipTests "
                    + "-pl stream-cli,stream-bench -am, or give --jar FILE");
        }
    }

    /**
     * Runs the benchmark.
     *
     * @param args {@code --name value} pairs, see the class comment
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        UserPathBench bench = new UserPathBench(options);
        try {
            bench.run();
        } finally {
            bench.close();
        }
    }

    private List<String> list(String name, String fallback) {
        return Arrays.asList(options.getOrDefault(name, fallback).split(","));
    }

    private int number(String name, int fallback) {
        return Integer.parseInt(options.getOrDefault(name, String.valueOf(fallback)));
    }

    private void run() throws Exception {
        installMissing();
        tunnelPeer = buildTunnelPeer();
        List<String> transports = list("transports", "netty,jdk,bc");
        List<String> figures = list("figures", "bulk,rtt,rate,resume,dtls,idle");
        int runs = number("runs", 3);
        long bulkBytes = (long) number("bulk-mib", 1024) << 20;
        int seconds = number("seconds", 5);
        // a fresh server's JIT is still compiling its handshake path after 5 s of new tunnels on 2 busy cores (JFR
        // showed C2 busy a third of a core then): the figure a server running for months has needs longer; DTLS
        // paths get half of it
        int warmup = number("warmup", 20);
        int idle = number("idle", 10_000);
        long files = openFileLimit();
        if (files > 0 && 2 * idle + 400 > files) {
            // each idle tunnel holds two descriptors in the server (the client's and the destination's)
            int fit = (int) ((files - 400) / 2);
            System.out.printf(Locale.ROOT, "  idle: %d tunnels need %d descriptors in the server, the limit here is"
                    + " %d (ulimit -n): measuring %d%n", idle, 2 * idle + 400, files, fit);
            idle = fit;
        }
        int window = number("window", 32);

        TcpBench.HashingSink sink = own(new TcpBench.HashingSink());
        InetSocketAddress echo = address(own(start("go-echo", List.of(tunnelPeer.toString(), "echo")))
                .awaitLine(LISTEN_LINE, 10), 1);
        UdpDestination udpEcho = own(UdpDestination.echo());
        TcpBench.ExternalTunnels external = own(new TcpBench.ExternalTunnels(pki, sink.address(), echo));
        Map<String, TcpBench.Path> tcpPaths = new LinkedHashMap<>();
        Map<String, List<Long>> tcpPids = new LinkedHashMap<>(); // the processes of each TCP tunnel
        Map<String, InetSocketAddress> rateTargets = new LinkedHashMap<>();
        Map<String, Boolean> rateRaw = new LinkedHashMap<>();
        Map<String, Long> ratePid = new LinkedHashMap<>();
        Map<String, DatagramChannel> udpPaths = new LinkedHashMap<>();
        Map<String, List<Long>> udpPids = new LinkedHashMap<>(); // the two processes of each DTLS tunnel
        Map<String, BenchProcess> servers = new LinkedHashMap<>();

        tcpPaths.put("socat", external.socat());
        tcpPaths.put("stunnel", external.stunnel());
        tcpPids.put("socat", external.pids("socat"));
        tcpPids.put("stunnel", external.pids("stunnel"));
        rateTargets.put("stunnel", external.serverSide("stunnel", echo));
        rateRaw.put("stunnel", true);
        BenchProcess goProcess = own(start("go-server", List.of(tunnelPeer.toString(), "server",
                "-ca", pki.caFile().toString(), "-cert", pki.serverCertFile().toString(), "-key",
                pki.serverKeyFile().toString())));
        InetSocketAddress goServer = address(goProcess.awaitLine(LISTEN_LINE, 10), 1);
        ratePid.put("Go crypto/tls", goProcess.pid());
        rateTargets.put("Go crypto/tls", goServer);
        rateRaw.put("Go crypto/tls", false);
        List<Long> socatPids = new ArrayList<>();
        udpPaths.put("socat DTLS", own(datagramChannel(socatDtls(udpEcho.address(), socatPids))));
        udpPids.put("socat DTLS", socatPids);

        for (String transport : transports) {
            String name = "stream-proxy " + transport + (transport.equals(defaultTransport()) ? " (default)" : "");
            boolean tcp = !transport.startsWith("bc");
            List<String> serverArgs = new ArrayList<>(List.of("server",
                    "--ca", pki.caFile().toString(), "--cert", pki.serverCertFile().toString(), "--key",
                    pki.serverKeyFile().toString(), "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--no-http",
                    // room for the idle tunnels (the default of 4096 sessions would refuse the rest)
                    "--max-sessions", String.valueOf(Math.max(4096, idle + 100))));
            serverArgs.addAll(transportArgs(transport));
            BenchProcess server = own(start("server-" + transport, streamProxy("server-" + transport,
                    serverArgs.toArray(new String[0]))));
            Matcher m = server.awaitLine(SERVER_LINE, 60);
            InetSocketAddress tcpAddress = address(m, 1);
            InetSocketAddress udpAddress = address(m, 2);
            if (tcp) {
                servers.put(name, server);
                Map<InetSocketAddress, InetSocketAddress> front = new LinkedHashMap<>();
                List<Long> pids = new ArrayList<>(List.of(server.pid()));
                for (InetSocketAddress target : List.of(sink.address(), echo)) {
                    BenchProcess f = forwardProcess(transport, tcpAddress, target, false);
                    front.put(target, address(f.awaitLine(FORWARD_LINE, 60), 1));
                    pids.add(f.pid());
                }
                tcpPids.put(name, pids);
                tcpPaths.put(name, to -> TcpBench.socket(front.get(to)));
                rateTargets.put(name, tcpAddress);
                rateRaw.put(name, false);
                ratePid.put(name, server.pid());
            }
            BenchProcess udpForward = forwardProcess(transport, udpAddress, udpEcho.address(), true);
            udpPaths.put(name, own(datagramChannel(address(udpForward.awaitLine(FORWARD_LINE, 60), 1))));
            udpPids.put(name, List.of(server.pid(), udpForward.pid()));
        }

        System.out.printf(Locale.ROOT, "user path, %s, %d cores, %d runs (median), bulk %d MiB, %d s per rate and"
                + " DTLS figure, %d s of new tunnels, %d s of round trips and %d s of datagrams first on each path%n",
                System.getProperty("java.vm.version"), Runtime.getRuntime().availableProcessors(), runs,
                bulkBytes >> 20, seconds, warmup, Math.max(2, warmup / 4), Math.max(2, warmup / 2));
        if (options.containsKey("jvm-options")) {
            System.out.println("stream-proxy processes run with JVM options: " + options.get("jvm-options"));
        }
        Map<String, List<double[]>> results = new LinkedHashMap<>();
        for (int run = 0; run < runs; run++) {
            if (figures.contains("bulk")) {
                for (Map.Entry<String, TcpBench.Path> e : tcpPaths.entrySet()) {
                    if (run == 0) {
                        TcpBench.bulk(e.getValue(), sink, Math.min(bulkBytes, 256L << 20)); // warm-up
                    }
                    List<Long> pids = tcpPids.get(e.getKey());
                    Duration before = cpu(pids);
                    record(results, "bulk MB/s|" + e.getKey(), TcpBench.bulk(e.getValue(), sink, bulkBytes));
                    // what moving a GiB cost the tunnel's processes (the sink's hashing shares the 2 cores)
                    double gib = bulkBytes / (double) (1L << 30);
                    record(results, "bulk tunnel CPU s per GiB|" + e.getKey(),
                            cpu(pids).minus(before).toNanos() / 1e9 / gib);
                    System.out.println("  run " + (run + 1) + ": " + e.getKey() + " bulk done");
                }
            }
            if (figures.contains("rtt")) {
                // the first run warms each path for a quarter of --warmup first, as a long-running server and
                // forward are warm (socat and stunnel get the same round trips)
                interleavedRoundTrips(results, tcpPaths, tcpPids, echo,
                        run == 0 ? TimeUnit.SECONDS.toNanos(Math.max(2, warmup / 4)) : 0);
                System.out.println("  run " + (run + 1) + ": round trips done");
            }
            if (figures.contains("rate")) {
                if (run == 0) {
                    for (Map.Entry<String, InetSocketAddress> e : rateTargets.entrySet()) {
                        rate(e.getValue(), echo, rateRaw.get(e.getKey()), warmup, false); // every path the same
                    }
                }
                interleavedRate(results, rateTargets, rateRaw, ratePid, echo, seconds, false);
                System.out.println("  run " + (run + 1) + ": tunnels/s done");
            }
            if (figures.contains("resume")) {
                if (run == 0) {
                    for (Map.Entry<String, InetSocketAddress> e : rateTargets.entrySet()) {
                        rate(e.getValue(), echo, rateRaw.get(e.getKey()), Math.max(1, warmup / 4), true);
                    }
                }
                interleavedRate(results, rateTargets, rateRaw, ratePid, echo, seconds, true);
                System.out.println("  run " + (run + 1) + ": resumed tunnels/s done");
            }
            if (figures.contains("dtls")) {
                for (Map.Entry<String, DatagramChannel> e : udpPaths.entrySet()) {
                    if (run == 0) {
                        // warm-up: perf of a netty server 3 s into a measurement after 2 s of it found C2 still
                        // compiling for a third of the server's samples
                        datagrams(e.getValue(), Math.max(2, warmup / 2), window);
                    }
                    List<Long> pids = udpPids.get(e.getKey());
                    Duration cpuBefore = cpu(pids);
                    Duration benchBefore = ownCpu();
                    double[] d = datagrams(e.getValue(), seconds, window);
                    Duration bench = ownCpu().minus(benchBefore);
                    record(results, "DTLS datagrams/s|" + e.getKey(), d[0]);
                    record(results, "DTLS loss %|" + e.getKey(), d[1]);
                    // what each echoed datagram cost the tunnel's own two processes, and this process (the
                    // client and the echo, the same work on every path: the 2 cores are shared by both)
                    record(results, "DTLS tunnel CPU us per datagram|" + e.getKey(),
                            cpu(pids).minus(cpuBefore).toNanos() / 1000.0 / Math.max(1, d[2]));
                    record(results, "DTLS client and echo CPU us per datagram|" + e.getKey(),
                            bench.toNanos() / 1000.0 / Math.max(1, d[2]));
                }
                System.out.println("  run " + (run + 1) + ": DTLS done");
            }
        }
        if (figures.contains("idle")) {
            for (Map.Entry<String, BenchProcess> e : servers.entrySet()) {
                double[] perTunnel = idleMemory(e.getValue(), rateTargets.get(e.getKey()), echo, idle);
                record(results, "heap per idle tunnel KiB|" + e.getKey(), perTunnel[0]);
                record(results, "resident memory per idle tunnel KiB|" + e.getKey(), perTunnel[1]);
            }
        }
        print(results);
        dumpRecordings();
    }

    private static String defaultTransport() {
        return "netty";
    }

    /** One path's turn in a measurement that the paths take in turns. */
    private interface Turn {
        void take(String path, int turn) throws IOException;
    }

    /**
     * Gives every path {@code turns} turns, the order rotating by one each round (so that no path always follows the
     * same one), for figures measured in slices so that a drifting machine slows every path alike.
     */
    private static void inTurns(List<String> paths, int turns, Turn action) throws IOException {
        for (int turn = 0; turn < turns; turn++) {
            for (int i = 0; i < paths.size(); i++) {
                action.take(paths.get((i + turn) % paths.size()), turn);
            }
        }
    }

    /** Round trips measured per path in each run. */
    private static final int ROUND_TRIPS = 20_000;

    /** How many round trips one path makes at a time before the next path's turn. */
    private static final int ROUND_TRIP_SLICE = 1_000;

    /**
     * The round trip figures of every path, measured in turns on one connection per path: each path makes
     * {@value #ROUND_TRIP_SLICE} round trips in rotating order until each made {@value #ROUND_TRIPS}, so that a
     * shared host's drift (which moved back-to-back measures of the same path by a third) slows every path alike.
     * Records p50 and p99 over all of a path's round trips, and the CPU each cost the tunnel's own processes (their
     * live children counted), which tells work on the path from waiting to be woken.
     */
    private static void interleavedRoundTrips(Map<String, List<double[]>> results, Map<String, TcpBench.Path> paths,
                                              Map<String, List<Long>> pids, InetSocketAddress echo, long warmNanos)
            throws IOException {
        List<String> names = new ArrayList<>(paths.keySet());
        Map<String, TcpBench.RoundTrips> open = new LinkedHashMap<>();
        try {
            for (String name : names) {
                TcpBench.RoundTrips r = new TcpBench.RoundTrips(paths.get(name), echo);
                open.put(name, r);
                r.warm(warmNanos);
            }
            Map<String, long[]> samples = new LinkedHashMap<>();
            Map<String, Duration> cpu = new LinkedHashMap<>();
            for (String name : names) {
                samples.put(name, new long[ROUND_TRIPS]);
                cpu.put(name, Duration.ZERO);
            }
            inTurns(names, ROUND_TRIPS / ROUND_TRIP_SLICE, (name, turn) -> {
                Duration before = liveCpu(pids.get(name));
                open.get(name).measure(samples.get(name), turn * ROUND_TRIP_SLICE, ROUND_TRIP_SLICE);
                cpu.put(name, cpu.get(name).plus(liveCpu(pids.get(name)).minus(before)));
            });
            for (String name : names) {
                long[] p = TcpBench.percentiles(samples.get(name));
                record(results, "round trip p50 us|" + name, p[0] / 1000.0);
                record(results, "round trip p99 us|" + name, p[1] / 1000.0);
                record(results, "round trip tunnel CPU us|" + name, cpu.get(name).toNanos() / 1000.0 / ROUND_TRIPS);
            }
        } finally {
            for (TcpBench.RoundTrips r : open.values()) {
                r.close();
            }
        }
    }

    /** How long one path is loaded at a time in the tunnels/s figures before the next path's turn. */
    private static final int RATE_SLICE_SECONDS = 2;

    /**
     * The tunnels/s figures of every path, measured in turns: each path gets {@value #RATE_SLICE_SECONDS}-second
     * slices of the same load in rotating order until each had {@code seconds}, so that a machine whose speed drifts
     * (a shared host) slows every path alike instead of the one measured at the time. Records the rate, the server's
     * own CPU per tunnel and, for resumed tunnels, the share that resumed.
     */
    private void interleavedRate(Map<String, List<double[]>> results, Map<String, InetSocketAddress> targets,
                                 Map<String, Boolean> raw, Map<String, Long> pids, InetSocketAddress echo,
                                 int seconds, boolean resume) throws IOException {
        List<String> paths = new ArrayList<>(targets.keySet());
        Map<String, double[]> sum = new LinkedHashMap<>(); // tunnels, seconds, resumed, server CPU ns
        for (String path : paths) {
            sum.put(path, new double[4]);
        }
        int slices = Math.max(1, (seconds + RATE_SLICE_SECONDS - 1) / RATE_SLICE_SECONDS);
        inTurns(paths, slices, (path, turn) -> {
            Long pid = pids.get(path);
            Duration cpuBefore = pid == null ? null : cpu(pid);
            double[] r = rate(targets.get(path), echo, raw.get(path), RATE_SLICE_SECONDS, resume);
            double[] acc = sum.get(path);
            acc[0] += r[0];
            acc[1] += r[1];
            acc[2] += r[2];
            if (pid != null) {
                acc[3] += cpu(pid).minus(cpuBefore).toNanos();
            }
        });
        String what = resume ? "resumed tunnel" : "new tunnel";
        for (String path : paths) {
            double[] acc = sum.get(path);
            record(results, (resume ? "resumed tunnels/s|" : "new tunnels/s|") + path, acc[0] / acc[1]);
            if (resume) {
                record(results, "resumed share %|" + path, acc[0] == 0 ? 0 : acc[2] * 100 / acc[0]);
            }
            if (pids.get(path) != null && acc[0] > 0) {
                // the server's own CPU per tunnel: what the rate costs it, whatever the clients cost
                record(results, "server CPU us per " + what + "|" + path, acc[3] / 1000.0 / acc[0]);
            }
        }
    }

    private static void record(Map<String, List<double[]>> results, String key, double value) {
        results.computeIfAbsent(key, k -> new ArrayList<>()).add(new double[] {value});
    }

    /** Prints a table per figure: each path's median, and the ratio against the figure's peer. */
    private static void print(Map<String, List<double[]>> results) {
        Map<String, Map<String, Double>> byFigure = new LinkedHashMap<>();
        for (Map.Entry<String, List<double[]>> e : results.entrySet()) {
            String[] k = e.getKey().split("\\|", 2);
            double[] v = e.getValue().stream().mapToDouble(a -> a[0]).sorted().toArray();
            byFigure.computeIfAbsent(k[0], x -> new LinkedHashMap<>()).put(k[1], v[v.length / 2]);
        }
        System.out.println();
        System.out.println("| figure | path | value | ratio | against |");
        System.out.println("| --- | --- | --- | --- | --- |");
        for (Map.Entry<String, Map<String, Double>> f : byFigure.entrySet()) {
            String figure = f.getKey();
            Map<String, Double> paths = f.getValue();
            String peer;
            Double base;
            if (figure.startsWith("new tunnels") || figure.startsWith("resumed tunnels")
                    || figure.startsWith("server CPU")) {
                double stunnel = paths.getOrDefault("stunnel", 0.0);
                double go = paths.getOrDefault("Go crypto/tls", 0.0);
                peer = stunnel >= go ? "stunnel" : "Go crypto/tls";
                base = Math.max(stunnel, go);
            } else if (figure.startsWith("DTLS")) {
                peer = "socat DTLS";
                base = paths.get(peer);
            } else if (figure.startsWith("heap")) {
                peer = null;
                base = null;
            } else {
                peer = "socat";
                base = paths.get(peer);
            }
            for (Map.Entry<String, Double> p : paths.entrySet()) {
                String ratio = base == null || base == 0 || figure.contains("loss") || figure.contains("share") ? ""
                        : String.format(Locale.ROOT, "%.2f×", p.getValue() / base);
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", figure, p.getKey(),
                        format(p.getValue()), ratio, ratio.isEmpty() ? "" : peer);
            }
        }
    }

    private static String format(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    /** This process's open-file limit (its children inherit it), or 0 when it cannot be read. */
    private static long openFileLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? 0 : Long.parseLong(soft);
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    /**
     * The CPU of processes and of their children that ended (socat serves each connection in a child it forks,
     * whose time /proc adds to the parent's once the child is reaped), waiting up to 5 s for running children.
     */
    private static Duration cpu(List<Long> pids) throws IOException {
        long ticks = 0;
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> h.children().forEach(c -> {
                try {
                    c.onExit().get(5, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // still running: its time is not counted yet
                }
            }));
            ticks += statTicks(pid);
        }
        return Duration.ofMillis(ticks * 1000 / CLOCK_TICKS);
    }

    /** A process's own and its reaped children's CPU, in clock ticks: utime, stime, cutime and cstime. */
    private static long statTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // f[0] is the state, field 3 of stat(5): utime, stime, cutime and cstime are fields 14 to 17
        long ticks = 0;
        for (int i = 11; i <= 14; i++) {
            ticks += Long.parseLong(f[i]);
        }
        return ticks;
    }

    /**
     * The CPU time of processes and of every descendant alive now, without waiting for any: each process's time
     * counts once, in its own /proc stat while it runs and in its parent's children's time once reaped.
     */
    private static Duration liveCpu(List<Long> pids) {
        long ticks = 0;
        for (long pid : pids) {
            List<Long> tree = new ArrayList<>(List.of(pid));
            ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> tree.add(d.pid())));
            for (long p : tree) {
                try {
                    ticks += statTicks(p);
                } catch (IOException gone) {
                    // exited and reaped meanwhile: its time is in its parent's children's time
                }
            }
        }
        return Duration.ofMillis(ticks * 1000 / CLOCK_TICKS);
    }

    /** The kernel's clock ticks per second in /proc (USER_HZ): 100 on Linux. */
    private static final long CLOCK_TICKS = 100;

    private static Duration cpu(long pid) throws IOException {
        return cpu(List.of(pid));
    }

    /** This process's own CPU (its children are the tunnels measured, not its own work). */
    private static Duration ownCpu() {
        return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    /**
     * New tunnels per second from 4 Go clients, each a handshake (full, or resumed from the client's session cache
     * when {@code resume}), header, one byte echoed and close.
     *
     * @return the tunnels opened, the seconds it took, and how many of them resumed their handshake
     */
    private double[] rate(InetSocketAddress server, InetSocketAddress echo, boolean raw, int seconds, boolean resume)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(tunnelPeer.toString(), "rate", "-server", text(server), "-to",
                text(echo), "-seconds", String.valueOf(seconds), "-workers", "4"));
        cmd.addAll(clientCertificates());
        if (raw) {
            cmd.add("-raw");
        }
        if (resume) {
            cmd.add("-resume");
        }
        try (BenchProcess p = start("go-rate", cmd)) {
            Matcher m = p.awaitLine(Pattern.compile("tunnels (\\d+) seconds (\\S+) failed (\\d+) resumed (\\d+)"),
                    seconds + 60);
            if (Long.parseLong(m.group(3)) > 0) {
                System.out.println("  " + m.group(3) + " tunnels failed against " + text(server));
            }
            return new double[] {Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)),
                Long.parseLong(m.group(4))};
        }
    }

    private List<String> clientCertificates() {
        return List.of("-ca", pki.caFile().toString(), "-cert", pki.clientCertFile().toString(), "-key",
                pki.clientKeyFile().toString());
    }

    /**
     * Opens {@code count} idle tunnels straight to the server and returns the growth of its heap after a full GC and
     * of its resident memory (which also holds what is not heap: thread stacks, direct buffers, the engines' native
     * state), in KiB per tunnel.
     */
    private double[] idleMemory(BenchProcess server, InetSocketAddress address, InetSocketAddress echo, int count)
            throws IOException, InterruptedException {
        long before = heapAfterGc(server.pid());
        long residentBefore = residentKib(server.pid());
        List<String> cmd = new ArrayList<>(List.of(tunnelPeer.toString(), "idle", "-server", text(address), "-to",
                text(echo), "-count", String.valueOf(count)));
        cmd.addAll(clientCertificates());
        try (BenchProcess p = start("go-idle", cmd)) {
            Matcher m = p.awaitLine(Pattern.compile("open (\\d+) failed (\\d+)"), 600);
            int open = Integer.parseInt(m.group(1));
            long after = heapAfterGc(server.pid());
            long residentAfter = residentKib(server.pid());
            System.out.printf(Locale.ROOT, "  idle: %d tunnels open (%s failed), heap %d -> %d KiB, resident %d -> %d"
                    + " KiB%n", open, m.group(2), before >> 10, after >> 10, residentBefore, residentAfter);
            return open == 0 ? new double[] {Double.NaN, Double.NaN}
                    : new double[] {(after - before) / 1024.0 / open, (residentAfter - residentBefore) / (double) open};
        }
    }

    /** The resident memory of a process, in KiB ({@code VmRSS} of {@code /proc/PID/status}). */
    private static long residentKib(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/" + pid + "/status");
    }

    /** The used heap of a JVM after a full GC, from jcmd. */
    private long heapAfterGc(long pid) throws IOException, InterruptedException {
        Path jcmd = Path.of(java).resolveSibling("jcmd");
        run(List.of(jcmd.toString(), String.valueOf(pid), "GC.run"));
        String info = run(List.of(jcmd.toString(), String.valueOf(pid), "GC.heap_info"));
        Matcher m = Pattern.compile("total (?:reserved )?\\d+K,(?: committed \\d+K,)? used (\\d+)K").matcher(info);
        if (!m.find()) {
            throw new IOException("no heap figure in jcmd's answer: " + info);
        }
        return Long.parseLong(m.group(1)) << 10;
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(cmd + " failed: " + out);
        }
        return out;
    }

    /** The local UDP socket of one DTLS path, kept for the whole run (socat's tunnel serves one peer address). */
    private static DatagramChannel datagramChannel(InetSocketAddress entry) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        ch.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
        ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
        ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        ch.connect(entry);
        ch.configureBlocking(false);
        return ch;
    }

    /**
     * 1200-byte datagrams echoed with 32 in flight for {@code seconds}: returns datagrams echoed per second and the
     * percentage lost (a datagram not back within 500 ms is lost, and its slot is reused).
     */
    private static double[] datagrams(DatagramChannel ch, int seconds, int window) throws IOException {
        final long lostAfter = TimeUnit.MILLISECONDS.toNanos(500);
        try (Selector selector = Selector.open()) {
            SelectionKey key = ch.register(selector, SelectionKey.OP_READ);
            ByteBuffer out = ByteBuffer.allocateDirect(1200);
            ByteBuffer in = ByteBuffer.allocateDirect(2048);
            long[] sentAt = new long[window];
            long[] seqOf = new long[window];
            Arrays.fill(seqOf, -1);
            long next = System.nanoTime(); // never a sequence number an earlier measurement used
            long echoed = 0;
            long lost = 0;
            long start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(seconds);
            for (int slot = 0; slot < window; slot++) {
                next = send(ch, out, slot, next, sentAt, seqOf);
            }
            while (true) {
                long now = System.nanoTime();
                if (now >= end) {
                    break;
                }
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(end - now, lostAfter / 5))));
                selector.selectedKeys().clear();
                while (true) {
                    in.clear();
                    if (ch.receive(in) == null) {
                        break;
                    }
                    in.flip();
                    if (in.remaining() != 1200) {
                        continue;
                    }
                    int slot = in.getInt(0);
                    long seq = in.getLong(4);
                    if (slot >= 0 && slot < window && seqOf[slot] == seq) {
                        echoed++;
                        next = send(ch, out, slot, next, sentAt, seqOf);
                    }
                }
                now = System.nanoTime();
                for (int slot = 0; slot < window; slot++) {
                    if (now - sentAt[slot] > lostAfter) {
                        lost++;
                        next = send(ch, out, slot, next, sentAt, seqOf);
                    }
                }
            }
            double secs = (System.nanoTime() - start) / 1e9;
            key.cancel();
            selector.selectNow();
            return new double[] {echoed / secs, 100.0 * lost / Math.max(1, echoed + lost), echoed};
        }
    }

    private static long send(DatagramChannel ch, ByteBuffer out, int slot, long seq, long[] sentAt, long[] seqOf)
            throws IOException {
        out.clear();
        out.putInt(0, slot).putLong(4, seq);
        out.limit(1200);
        try {
            ch.write(out);
        } catch (PortUnreachableException e) {
            // an ICMP error from an earlier datagram: this one counts as lost when its time is up
        }
        sentAt[slot] = System.nanoTime();
        seqOf[slot] = seq;
        return seq + 1;
    }

    /** socat's DTLS tunnel (client and server side) in front of the UDP echo; returns its local UDP entry. */
    private InetSocketAddress socatDtls(InetSocketAddress echo, List<Long> pids) throws IOException {
        int serverPort = TcpBench.ExternalTunnels.freePort();
        int clientPort = TcpBench.ExternalTunnels.freePort();
        pids.add(own(start("socat-dtls-server", List.of("socat", "-d", "-d", "OPENSSL-DTLS-SERVER:" + serverPort
                + ",bind=127.0.0.1,reuseaddr,cert=" + pki.serverCertFile() + ",key=" + pki.serverKeyFile()
                + ",cafile=" + pki.caFile() + ",verify=1", "UDP:127.0.0.1:" + echo.getPort()))).pid());
        awaitUdpBound(new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort));
        pids.add(own(start("socat-dtls-client", List.of("socat", "-d", "-d",
                "UDP-LISTEN:" + clientPort + ",bind=127.0.0.1,reuseaddr", "OPENSSL-DTLS-CLIENT:127.0.0.1:" + serverPort
                        + ",cert=" + pki.clientCertFile() + ",key=" + pki.clientKeyFile() + ",cafile=" + pki.caFile()
                        + ",commonname=godoxy.agent"))).pid());
        InetSocketAddress entry = new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPort);
        awaitUdpBound(entry);
        return entry;
    }

    /** Waits until something holds a UDP port on loopback, read from /proc/net/udp (which disturbs nothing). */
    private static void awaitUdpBound(InetSocketAddress a) throws IOException {
        String local = String.format(Locale.ROOT, "0100007F:%04X", a.getPort());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            for (String line : Files.readAllLines(Path.of("/proc/net/udp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 1 && f[1].equals(local)) {
                    return;
                }
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        throw new IOException("nothing bound UDP " + a + " within 10 s");
    }

    /** Starts {@code stream-proxy forward} to target through server; its entry is on its {@code forwarding} line. */
    private BenchProcess forwardProcess(String transport, InetSocketAddress server, InetSocketAddress target,
                                        boolean udp) throws IOException {
        List<String> args = new ArrayList<>(List.of("forward", "--ca", pki.caFile().toString(), "--cert",
                pki.clientCertFile().toString(), "--key", pki.clientKeyFile().toString(), "--server", text(server),
                "--to", text(target)));
        args.addAll(transportArgs(options.getOrDefault("forward-transport", transport)));
        if (udp) {
            args.add("--udp");
        }
        String name = "forward-" + transport + "-" + (udp ? "udp" : "tcp") + "-" + target.getPort();
        return own(start(name, streamProxy(name, args.toArray(new String[0]))));
    }

    /**
     * The command-line arguments that choose a transport: {@code NAME}, or {@code NAME:KEY=VALUE[+KEY=VALUE...]}
     * for a transport with its own settings (for example {@code netty:netty.ssl=openssl}).
     */
    private static List<String> transportArgs(String spec) {
        String[] parts = spec.split(":", 2);
        List<String> args = new ArrayList<>(List.of("--transport", parts[0]));
        if (parts.length == 2) {
            for (String option : parts[1].split("\\+")) {
                args.add("--transport-option");
                args.add(option);
            }
        }
        return args;
    }

    private List<String> streamProxy(String name, String... args) {
        List<String> cmd = new ArrayList<>(List.of(java));
        String jfr = options.get("jfr");
        if (jfr != null) {
            cmd.add("-XX:StartFlightRecording=name=bench,settings=" + options.getOrDefault("jfr-settings", "profile"));
            recorded.put(name, Path.of(jfr).resolve(name.replaceAll("[^A-Za-z0-9.-]", "_") + ".jfr").toAbsolutePath());
        }
        String jvm = options.get("jvm-options");
        if (jvm != null && !jvm.isBlank()) {
            cmd.addAll(Arrays.asList(jvm.trim().split("\\s+")));
        }
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static String text(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static InetSocketAddress address(Matcher m, int group) {
        String s = m.group(group);
        int colon = s.lastIndexOf(':');
        String host = s.substring(0, colon).replace("[", "").replace("]", "");
        return new InetSocketAddress(host, Integer.parseInt(s.substring(colon + 1)));
    }

    /** Installs socat, stunnel and Go with apt-get when one is missing and this runs as root. */
    private static void installMissing() throws IOException, InterruptedException {
        List<String> missing = new ArrayList<>();
        for (String[] tool : new String[][] {{"socat", "socat"}, {"stunnel4", "stunnel4"}, {"go", "golang-go"}}) {
            if (!onPath(tool[0])) {
                missing.add(tool[1]);
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        System.out.println("installing " + missing + " with apt-get");
        List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq", "--no-install-recommends"));
        cmd.addAll(missing);
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        if (pb.start().waitFor() != 0) {
            throw new IOException("could not install " + missing + "; install them and run again");
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Builds the Go peer from the source in this jar. */
    private Path buildTunnelPeer() throws IOException, InterruptedException {
        Path source = work.resolve("tunnelpeer.go");
        try (InputStream in = UserPathBench.class.getResourceAsStream("tunnelpeer.go")) {
            if (in == null) {
                throw new IOException("tunnelpeer.go is missing from the class path");
            }
            Files.copy(in, source);
        }
        Path binary = work.resolve("tunnelpeer");
        ProcessBuilder pb = new ProcessBuilder("go", "build", "-o", binary.toString(), source.toString())
                .redirectErrorStream(true);
        pb.environment().putIfAbsent("GOCACHE", work.resolve("gocache").toString());
        pb.environment().put("GO111MODULE", "off");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("go build failed: " + out);
        }
        return binary;
    }

    private <T extends Closeable> T own(T c) {
        cleanup.add(c);
        return c;
    }

    private BenchProcess start(String name, List<String> cmd) throws IOException {
        BenchProcess p = new BenchProcess(cmd, work.resolve(name + ".log"));
        started.put(name, p);
        return p;
    }

    /** Dumps the recording of every stream-proxy process that has one (while they still run). */
    private void dumpRecordings() {
        Path jcmd = Path.of(java).resolveSibling("jcmd");
        for (Map.Entry<String, Path> e : recorded.entrySet()) {
            BenchProcess p = started.get(e.getKey());
            try {
                run(List.of(jcmd.toString(), String.valueOf(p.pid()), "JFR.dump", "name=bench",
                        "filename=" + e.getValue()));
                System.out.println("JFR recording: " + e.getValue());
            } catch (IOException | InterruptedException ex) {
                System.out.println("no JFR recording of " + e.getKey() + ": " + ex.getMessage());
            }
        }
    }

    private void close() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (IOException | RuntimeException e) {
                // closing
            }
        }
    }

    /** A child process whose standard output is read line by line; its standard error goes to a log file. */
    static final class BenchProcess implements Closeable {
        private final Process process;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        BenchProcess(List<String> cmd, Path log) throws IOException {
            process = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process ended
                }
            }, "bench-process-output");
            reader.setDaemon(true);
            reader.start();
        }

        long pid() {
            return process.pid();
        }

        /** Waits, at most {@code seconds}, for a line of standard output that matches. */
        Matcher awaitLine(Pattern pattern, int seconds) throws IOException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            List<String> seen = new ArrayList<>();
            try {
                while (true) {
                    long left = end - System.nanoTime();
                    String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
                    if (line == null) {
                        throw new IOException(process.info().command().orElse("process") + " printed no line like '"
                                + pattern + "' within " + seconds + " s (alive: " + process.isAlive() + ", printed: "
                                + seen + ")");
                    }
                    Matcher m = pattern.matcher(line);
                    if (m.find()) {
                        return m;
                    }
                    seen.add(line);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }

        @Override
        public void close() {
            try {
                process.getOutputStream().close(); // the Go peers end when their standard input closes
            } catch (IOException e) {
                // gone
            }
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

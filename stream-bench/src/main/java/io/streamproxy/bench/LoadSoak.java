package io.streamproxy.bench;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.testkit.ResourceSnapshot;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32;

/**
 * Load and soak, per transport, against a server with the options a user gets by default (only the transport, the
 * loopback addresses and a counting listener are set), through the library's own {@link StreamClient} (one per
 * protocol, shared by every thread):
 * <ol type="a">
 *   <li>{@code tcpTunnels} TCP tunnels opened at once (every thread released by one latch), each moving
 *   {@code tcpBytes} each way, checked by CRC32 per direction against a seeded generator;</li>
 *   <li>{@code udpSessions} DTLS sessions at once, each sending {@code udpDatagrams} numbered, checksummed datagrams
 *   to a UDP echo in request-reply lockstep (no retransmission: a reply not back within 1 s is counted lost);</li>
 *   <li>{@code shortTunnels} short tunnels (open, header, one byte echoed, close), {@code shortConcurrency} in
 *   flight.</li>
 * </ol>
 * After each phase the open file descriptors and the threads of the process must come back to the baseline taken
 * after a warm-up, within a bounded wait, and after the server is closed to the baseline taken before it started.
 * Every refusal the server reports (by reason, through its listener) is a failure.
 *
 * <pre>
 * ./mvnw -B -q package -DskipTests -pl stream-bench -am
 * java -cp stream-bench/target/stream-bench.jar io.streamproxy.bench.LoadSoak --transport jdk,netty,netty-openssl,bc
 * </pre>
 *
 * Options: {@code --transport jdk|netty|netty-openssl|bc|all} (a comma list; {@code --netty-ssl openssl} turns
 * {@code netty} into {@code netty-openssl}), {@code --phases abc}, {@code --tcp-tunnels 1000},
 * {@code --tcp-kib 256}, {@code --udp-sessions 200}, {@code --udp-datagrams 500}, {@code --short 100000},
 * {@code --short-concurrency 64}. The exit code is 0 only if every check passed.
 */
public final class LoadSoak {
    private static final int CHUNK = 16 * 1024;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DATAGRAM_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration IDLE_WAIT = Duration.ofSeconds(30);
    /** {@code -Dloadsoak.verbose=true} prints the threads of each baseline and the full names of leftovers. */
    private static final boolean VERBOSE = Boolean.getBoolean("loadsoak.verbose");

    private LoadSoak() {
    }

    /**
     * One transport configuration under load.
     *
     * @param name      the name printed
     * @param transport the registry name
     * @param options   transport options for the server and the client
     * @param tcp       whether it serves TCP
     * @param udp       whether it serves UDP (netty's UDP runs on the JDK's DTLS whatever {@code netty.ssl} says,
     *                  so {@code netty-openssl} has no UDP part of its own)
     */
    public record Variant(String name, String transport, Map<String, String> options, boolean tcp, boolean udp) {
        /**
         * Looks a variant up by name.
         *
         * @param name jdk, netty, netty-openssl or bc
         * @return the variant
         */
        public static Variant named(String name) {
            switch (name) {
                case "jdk":
                    return new Variant("jdk", "jdk", Map.of(), true, true);
                case "netty":
                    return new Variant("netty", "netty", Map.of(), true, true);
                case "netty-openssl":
                    return new Variant("netty-openssl", "netty", Map.of("netty.ssl", "openssl"), true, false);
                case "bc":
                    return new Variant("bc", "bc", Map.of(), false, true);
                default:
                    throw new IllegalArgumentException("unknown transport '" + name
                            + "': jdk, netty, netty-openssl, bc or all");
            }
        }
    }

    /**
     * The sizes of a run.
     *
     * @param tcpTunnels       phase a: tunnels opened at once
     * @param tcpBytes         phase a: bytes each way per tunnel
     * @param udpSessions      phase b: DTLS sessions opened at once
     * @param udpDatagrams     phase b: datagrams per session
     * @param datagramSize     phase b: bytes per datagram
     * @param maxLoss          phase b: the fraction of datagrams that may be lost before it counts as a failure
     * @param shortTunnels     phase c: short tunnels in all
     * @param shortConcurrency phase c: short tunnels in flight
     * @param phases           which phases, as letters
     * @param serverPerPhase   a fresh server for each phase (closed after it) instead of one for all phases
     * @param threadWait       how long threads may take to end after a phase while the server runs (the jdk TCP
     *                         server keeps idle session threads for 30 s); null to check threads only after the
     *                         server is closed
     * @param closeWait        how long threads and file descriptors may take to go after a close, and file
     *                         descriptors after a phase
     */
    public record Config(int tcpTunnels, int tcpBytes, int udpSessions, int udpDatagrams, int datagramSize,
                         double maxLoss, int shortTunnels, int shortConcurrency, String phases,
                         boolean serverPerPhase, Duration threadWait, Duration closeWait) {
        /** @return the full run: 1000 x 256 KiB, 200 x 500 datagrams, 100,000 short tunnels (64 in flight) */
        public static Config full() {
            return new Config(1000, 256 * 1024, 200, 500, 1024, 0.01, 100_000, 64, "abc", false,
                    Duration.ofSeconds(45), Duration.ofSeconds(15));
        }

        /** @return the short run of the build: 300 x 64 KiB, 50 x 100 datagrams, 2000 short tunnels (32) */
        public static Config quick() {
            return new Config(300, 64 * 1024, 50, 100, 1024, 0.01, 2000, 32, "abc", true, null,
                    Duration.ofSeconds(15));
        }

        /** @return file descriptors phase a needs: 4 per tunnel in this one process, and some room */
        public long fileDescriptorsNeeded() {
            return 4L * tcpTunnels + 2L * udpSessions + 2L * shortConcurrency * 4 + 512;
        }
    }

    /** Counts of failures by what failed, with normalised messages (the first 20 kinds; the rest as "other"). */
    public static final class Failures {
        private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        private final AtomicLong other = new AtomicLong();

        void add(String stage, Throwable e) {
            add(stage + ": " + describe(e));
        }

        void add(String what) {
            String key = what.replaceAll("\\d{4,}", "#");
            AtomicLong c = counts.get(key);
            if (c == null && counts.size() >= 20) {
                other.incrementAndGet();
                return;
            }
            counts.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
        }

        static String describe(Throwable e) {
            if (e instanceof ExecutionException && e.getCause() != null) {
                e = e.getCause();
            }
            StringBuilder b = new StringBuilder(e.getClass().getSimpleName()).append(": ").append(e.getMessage());
            Throwable c = e.getCause();
            if (c != null && c != e) {
                b.append(" (caused by ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage())
                        .append(')');
            }
            return b.toString();
        }

        /** @return each kind of failure with its count, most frequent first */
        public List<String> lines() {
            List<String> out = new ArrayList<>();
            counts.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue().get(), a.getValue().get()))
                    .forEach(e -> out.add(e.getValue().get() + " x " + e.getKey()));
            if (other.get() > 0) {
                out.add(other.get() + " x other failures");
            }
            return out;
        }
    }

    /**
     * Resources after a phase or a close against a baseline.
     *
     * @param when            what was waited for
     * @param baseFds         file descriptors at the baseline (-1 where unknown)
     * @param fds             file descriptors after the bounded wait
     * @param baseThreads     live threads at the baseline
     * @param threads         live threads after the bounded wait
     * @param threadsChecked  whether threads started since the baseline were required to end
     * @param leftoverThreads the names of threads started since the baseline still alive after the wait
     * @param waitMillis      how long the wait took
     */
    public record ResourceCheck(String when, long baseFds, long fds, int baseThreads, int threads,
                                boolean threadsChecked, List<String> leftoverThreads, long waitMillis) {
        List<String> problems() {
            List<String> p = new ArrayList<>();
            if (baseFds >= 0 && fds > baseFds) {
                p.add(when + ": " + fds + " file descriptors open, baseline " + baseFds);
            }
            if (!leftoverThreads.isEmpty()) {
                p.add(when + ": " + leftoverThreads.size() + " threads started since the baseline still run: "
                        + abbreviate(leftoverThreads));
            }
            return p;
        }

        String describe() {
            return String.format(Locale.ROOT, "%s: fds %d -> %d, threads %d -> %d%s (%d ms)%s", when, baseFds, fds,
                    baseThreads, threads, threadsChecked ? "" : " (not awaited)", waitMillis,
                    VERBOSE && !leftoverThreads.isEmpty() ? " leftover " + leftoverThreads : "");
        }
    }

    /** What one phase of one transport did. */
    public static final class PhaseResult {
        final String variant;
        final String phase;
        long attempted;
        long succeeded;
        long opened;
        long openFailed;
        long failed;
        long forwardMismatches;
        long returnMismatches;
        long lost;
        long corrupted;
        long late;
        long datagrams;
        long serverOpened;
        long destinationErrors;
        double maxLoss;
        final Map<RefusalReason, Long> refused = new EnumMap<>(RefusalReason.class);
        final Map<RefusalReason, String> refusalDetail = new EnumMap<>(RefusalReason.class);
        double seconds;
        double megabytesPerSecond = -1;
        double perSecond = -1;
        /** Per tunnel or session, nanoseconds from its start (the release, in phases a and b) until it opened. */
        long[] openNanos = new long[0];
        final Failures failures = new Failures();
        final List<ResourceCheck> checks = new ArrayList<>();
        final List<String> setupProblems = new ArrayList<>();

        PhaseResult(String variant, String phase) {
            this.variant = variant;
            this.phase = phase;
        }

        /** @return the transport name */
        public String variant() {
            return variant;
        }

        /** @return the phase: a, b, c or end */
        public String phase() {
            return phase;
        }

        /** @return the resource checks after this phase */
        public List<ResourceCheck> checks() {
            return checks;
        }

        /** @return open time p50 / p99 / max in ms over those that opened, or "" */
        String openTimes() {
            long[] t = Arrays.stream(openNanos).filter(x -> x > 0).sorted().toArray();
            if (t.length == 0) {
                return "";
            }
            return String.format(Locale.ROOT, "%.0f / %.0f / %.0f ms", t[t.length / 2] / 1e6,
                    t[(int) Math.min(t.length - 1, Math.round(t.length * 0.99))] / 1e6, t[t.length - 1] / 1e6);
        }

        long refusedTotal() {
            return refused.values().stream().mapToLong(Long::longValue).sum();
        }

        /** @return every way this phase fell short; empty if it passed */
        public List<String> problems() {
            List<String> p = new ArrayList<>(setupProblems);
            String what = "phase " + phase + " (" + variant + ")";
            if (succeeded != attempted) {
                p.add(what + ": " + succeeded + " of " + attempted + " succeeded");
            }
            refused.forEach((r, n) -> p.add(what + ": server refused " + n + " as " + r + " ("
                    + refusalDetail.get(r) + ")"));
            if (forwardMismatches + returnMismatches > 0) {
                p.add(what + ": checksum mismatches: " + forwardMismatches + " to the destination, "
                        + returnMismatches + " back");
            }
            if (corrupted > 0) {
                p.add(what + ": " + corrupted + " corrupted datagrams");
            }
            if (datagrams > 0 && lost > maxLoss * datagrams) {
                p.add(what + ": " + lost + " of " + datagrams + " datagrams lost, over the bound of "
                        + (long) (maxLoss * datagrams));
            }
            if (destinationErrors > 0) {
                p.add(what + ": the destination saw " + destinationErrors + " protocol errors");
            }
            for (String f : failures.lines()) {
                p.add(what + ": " + f);
            }
            for (ResourceCheck c : checks) {
                p.addAll(c.problems());
            }
            return p;
        }

        /** @return the description of every figure and every problem */
        public String describe() {
            StringBuilder b = new StringBuilder(line());
            for (ResourceCheck c : checks) {
                b.append("\n    ").append(c.describe());
            }
            for (String f : failures.lines()) {
                b.append("\n    failure: ").append(f);
            }
            refused.forEach((r, n) -> b.append("\n    refused: ").append(n).append(" x ").append(r).append(" (")
                    .append(refusalDetail.get(r)).append(')'));
            for (String s : setupProblems) {
                b.append("\n    problem: ").append(s);
            }
            return b.toString();
        }

        String line() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "%-13s %-3s %-5s", variant, phase, problems().isEmpty() ? "ok"
                    : "FAIL"));
            if (!phase.equals("end")) {
                b.append(String.format(Locale.ROOT, " %6d/%-6d opened %6d refused %5d failed %5d", succeeded,
                        attempted, opened, refusedTotal(), attempted - succeeded));
                if (datagrams > 0) {
                    b.append(String.format(Locale.ROOT, " lost %d/%d corrupted %d late %d", lost, datagrams,
                            corrupted, late));
                } else if (phase.equals("a")) {
                    b.append(String.format(Locale.ROOT, " crc-mismatch %d", forwardMismatches + returnMismatches));
                }
                b.append(String.format(Locale.ROOT, " %7.2f s", seconds));
                if (!openTimes().isEmpty()) {
                    b.append(" open p50/p99/max ").append(openTimes());
                }
                if (megabytesPerSecond >= 0) {
                    b.append(String.format(Locale.ROOT, " %7.1f MB/s", megabytesPerSecond));
                }
                if (perSecond >= 0) {
                    b.append(String.format(Locale.ROOT, " %8.0f %s/s", perSecond,
                            datagrams > 0 ? "datagrams" : "tunnels"));
                }
            }
            return b.toString();
        }
    }

    /** The server's session events, counted; lets a phase wait until every opened session has closed. */
    static final class Events implements SessionListener {
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final long[] opened = new long[2];
        private final long[] closed = new long[2];
        private final Map<RefusalReason, Long> refused = new EnumMap<>(RefusalReason.class);
        private final Map<RefusalReason, String> detail = new EnumMap<>(RefusalReason.class);

        @Override
        public void sessionOpened(SessionInfo session) {
            lock.lock();
            try {
                opened[session.protocol().ordinal()]++;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void sessionClosed(SessionInfo session, long up, long down) {
            lock.lock();
            try {
                closed[session.protocol().ordinal()]++;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String why) {
            lock.lock();
            try {
                refused.merge(reason, 1L, Long::sum);
                detail.putIfAbsent(reason, protocol + ": " + why);
            } finally {
                lock.unlock();
            }
        }

        /** @return opened sessions of both protocols */
        long opened() {
            lock.lock();
            try {
                return opened[0] + opened[1];
            } finally {
                lock.unlock();
            }
        }

        Map<RefusalReason, Long> refused() {
            lock.lock();
            try {
                return new EnumMap<>(refused);
            } finally {
                lock.unlock();
            }
        }

        String detail(RefusalReason r) {
            lock.lock();
            try {
                return detail.get(r);
            } finally {
                lock.unlock();
            }
        }

        /**
         * Waits until every opened session has closed.
         *
         * @param bound the wait
         * @return the sessions still open when the wait ended (0 if none)
         */
        long awaitIdle(Duration bound) throws InterruptedException {
            long left = bound.toNanos();
            lock.lock();
            try {
                while (opened[0] + opened[1] > closed[0] + closed[1] && left > 0) {
                    left = changed.awaitNanos(left);
                }
                return opened[0] + opened[1] - closed[0] - closed[1];
            } finally {
                lock.unlock();
            }
        }
    }

    /** What every transport runs against: the destinations and the PKI, made once. */
    static final class Env implements Closeable {
        final TestPki pki = TestPki.create();
        final LoadDestination tcp;
        final UdpDestination udp;

        Env() throws IOException {
            tcp = new LoadDestination();
            udp = UdpDestination.echo();
        }

        @Override
        public void close() throws IOException {
            tcp.close();
            udp.close();
        }
    }

    /** A server with its clients (one per protocol it serves), the options a user gets by default. */
    static final class Stack implements Closeable {
        final Events events = new Events();
        final StreamServer server;
        final StreamClient tcp;
        final StreamClient udp;

        Stack(Variant v, Env env) throws IOException {
            InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
            StreamServerOptions.Builder sb = StreamServerOptions.builder(env.pki.serverCredentials())
                    .transport(v.transport()).listener(events);
            v.options().forEach(sb::transportOption);
            if (v.tcp()) {
                sb.tcp(any);
            }
            if (v.udp()) {
                sb.udp(any);
            }
            server = StreamServer.start(sb.build());
            tcp = v.tcp() ? client(v, env, server.tcpAddress()) : null;
            udp = v.udp() ? client(v, env, server.udpAddress()) : null;
        }

        private static StreamClient client(Variant v, Env env, InetSocketAddress address) {
            StreamClientOptions.Builder cb = StreamClientOptions.builder(address, env.pki.clientCredentials())
                    .transport(v.transport());
            v.options().forEach(cb::transportOption);
            return StreamClient.create(cb.build());
        }

        /**
         * Warms up, and makes the threads of fixed pools that start on first use: tunnels one after another, then
         * 16 at once (the netty client takes an event loop twice per tunnel, so with two loops a single opener
         * always lands on the same one and only concurrent openers start the other), and a few UDP sessions;
         * every one must succeed.
         */
        void warmUp(Env env) throws Exception {
            if (tcp != null) {
                for (int i = 0; i < 8; i++) {
                    warmBulk(env, i);
                    shortTunnel(tcp, env.tcp.echoAddress(), i);
                }
                ExecutorService pool = Executors.newFixedThreadPool(16, threads("load-warm-up"));
                try {
                    List<Future<?>> tasks = new ArrayList<>();
                    for (int i = 0; i < 16; i++) {
                        int id = i;
                        tasks.add(pool.submit(() -> {
                            warmBulk(env, id);
                            for (int j = 0; j < 4; j++) {
                                shortTunnel(tcp, env.tcp.echoAddress(), j);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : tasks) {
                        f.get(60, TimeUnit.SECONDS);
                    }
                } finally {
                    pool.shutdownNow();
                    if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
                        throw new IOException("warm-up threads did not end within 30 s");
                    }
                }
            }
            if (udp != null) {
                for (int i = 0; i < 4; i++) {
                    try (DatagramTunnel t = udp.openUdp(env.udp.host(), env.udp.port())) {
                        byte[] d = datagram(-1 - i, 0, 256);
                        t.send(ByteBuffer.wrap(d));
                        ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
                        t.receive(in, Duration.ofSeconds(5));
                        if (!Arrays.equals(Arrays.copyOf(in.array(), in.position()), d)) {
                            throw new IOException("warm-up datagram " + i + " did not come back intact");
                        }
                    }
                }
            }
        }

        private void warmBulk(Env env, int id) throws Exception {
            long[] r = bulk(tcp, env.tcp.checkedAddress(), id, 32 * 1024, null);
            if (r[0] != r[1] || r[1] != r[2]) {
                throw new IOException("warm-up tunnel " + id + ": checksum mismatch");
            }
        }

        @Override
        public void close() {
            if (tcp != null) {
                tcp.close();
            }
            if (udp != null) {
                udp.close();
            }
            server.close();
        }
    }

    /** A baseline: the snapshot the project's resource kits use, and the thread count to print. */
    record Baseline(ResourceSnapshot snapshot, int threads) {
        static Baseline take() {
            if (VERBOSE) {
                List<String> names = new ArrayList<>();
                Thread.getAllStackTraces().keySet().forEach(t -> names.add(t.getName()));
                System.out.println("  baseline threads: " + names);
            }
            return new Baseline(ResourceSnapshot.take(), threadCount());
        }

        ResourceCheck check(String when, boolean threads, Duration threadWait, Duration fdWait) {
            long start = System.nanoTime();
            List<Thread> left = threads ? snapshot.threadsStartedSince(threadWait) : List.of();
            long fds = ResourceSnapshot.awaitFileDescriptorsAtMost(snapshot.fileDescriptors(), fdWait);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            List<String> names = new ArrayList<>();
            for (Thread t : left) {
                names.add(t.getName());
            }
            return new ResourceCheck(when, snapshot.fileDescriptors(), fds, this.threads, threadCount(), threads,
                    names, millis);
        }
    }

    /** Thread names grouped by their prefix (the name without a trailing {@code -N}), with counts. */
    static String abbreviate(List<String> names) {
        Map<String, Integer> groups = new LinkedHashMap<>();
        for (String n : names) {
            groups.merge(n.replaceAll("-\\d+$", "-N"), 1, Integer::sum);
        }
        StringBuilder b = new StringBuilder();
        groups.forEach((k, v) -> b.append(b.length() == 0 ? "" : ", ").append(v).append(" x ").append(k));
        return b.toString();
    }

    static int threadCount() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    /**
     * The process's limit of open files, or -1 where the JVM does not tell.
     *
     * @return the limit
     */
    public static long fileDescriptorLimit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean) {
            return ((com.sun.management.UnixOperatingSystemMXBean) os).getMaxFileDescriptorCount();
        }
        return -1;
    }

    /**
     * Runs the phases of the config on every variant.
     *
     * @param variants the transports
     * @param config   the sizes
     * @param out      where progress and figures go
     * @return one result per phase and variant, and one "end" result per variant
     * @throws IOException if the destinations cannot start
     */
    public static List<PhaseResult> run(List<Variant> variants, Config config, PrintStream out) throws IOException {
        List<PhaseResult> results = new ArrayList<>();
        try (Env env = new Env()) {
            for (Variant v : variants) {
                results.addAll(runVariant(v, config, env, out));
            }
        }
        return results;
    }

    private static List<PhaseResult> runVariant(Variant v, Config c, Env env, PrintStream out) {
        List<PhaseResult> results = new ArrayList<>();
        List<String> phases = new ArrayList<>();
        for (char p : c.phases().toCharArray()) {
            if ((p == 'a' || p == 'c') && v.tcp() || p == 'b' && v.udp()) {
                phases.add(String.valueOf(p));
            }
        }
        PhaseResult end = new PhaseResult(v.name(), "end");
        Baseline before;
        try {
            // JVM-wide state that starts on first use (TLS providers, the transport's shared executors) is not
            // the server's: a first server that moves a few tunnels and is closed makes it before the baseline
            try (Stack warm = new Stack(v, env)) {
                warm.warmUp(env);
            }
            before = Baseline.take();
        } catch (Exception e) {
            end.setupProblems.add("warm-up server: " + Failures.describe(e));
            results.add(end);
            return results;
        }
        out.printf(Locale.ROOT, "%s: baseline before the server: %d fds, %d threads%n", v.name(),
                before.snapshot().fileDescriptors(), before.threads());
        Stack stack = null;
        Baseline live = null;
        try {
            for (String phase : phases) {
                PhaseResult r = new PhaseResult(v.name(), phase);
                results.add(r);
                if (stack == null) {
                    stack = new Stack(v, env);
                    stack.warmUp(env);
                    if (stack.events.awaitIdle(IDLE_WAIT) > 0) {
                        r.setupProblems.add("warm-up sessions did not close within " + IDLE_WAIT);
                    }
                    live = Baseline.take();
                    out.printf(Locale.ROOT, "%s: baseline with the server running, after a warm-up: %d fds, %d "
                            + "threads%n", v.name(), live.snapshot().fileDescriptors(), live.threads());
                }
                runPhase(phase, r, stack, env, c, out);
                long open = stack.events.awaitIdle(IDLE_WAIT);
                if (open > 0) {
                    r.setupProblems.add(open + " server sessions still open " + IDLE_WAIT.toSeconds()
                            + " s after phase " + phase);
                }
                boolean threads = c.threadWait() != null;
                r.checks.add(live.check("after phase " + phase + ", server running", threads,
                        threads ? c.threadWait() : Duration.ZERO, c.closeWait()));
                if (c.serverPerPhase()) {
                    stack.close();
                    stack = null;
                    r.checks.add(before.check("after phase " + phase + ", server closed", true, c.closeWait(),
                            c.closeWait()));
                }
                out.println(r.describe());
            }
        } catch (Exception e) {
            end.setupProblems.add("server: " + Failures.describe(e));
        } finally {
            if (stack != null) {
                stack.close();
            }
        }
        end.checks.add(before.check("all closed", true, c.closeWait(), c.closeWait()));
        out.println(end.describe());
        results.add(end);
        return results;
    }

    private static void runPhase(String phase, PhaseResult r, Stack s, Env env, Config c, PrintStream out)
            throws Exception {
        Map<RefusalReason, Long> refusedBefore = s.events.refused();
        long openedBefore = s.events.opened();
        long destErrors = env.tcp.protocolErrors();
        out.printf(Locale.ROOT, "%s: phase %s ...%n", r.variant, phase);
        switch (phase) {
            case "a":
                tcpBurst(r, s.tcp, env, c);
                break;
            case "b":
                udpBurst(r, s.udp, env, c);
                break;
            case "c":
                shortTunnels(r, s.tcp, env, c, out);
                break;
            default:
                throw new IllegalArgumentException("no phase " + phase);
        }
        s.events.awaitIdle(IDLE_WAIT);
        r.serverOpened = s.events.opened() - openedBefore;
        for (Map.Entry<RefusalReason, Long> e : s.events.refused().entrySet()) {
            long n = e.getValue() - refusedBefore.getOrDefault(e.getKey(), 0L);
            if (n > 0) {
                r.refused.put(e.getKey(), n);
                r.refusalDetail.put(e.getKey(), s.events.detail(e.getKey()));
            }
        }
        r.destinationErrors = env.tcp.protocolErrors() - destErrors;
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Shuts a pool down and waits (bounded) for its threads to end, so that they are not counted as leaks. */
    private static void shutdown(ExecutorService pool, PhaseResult r) throws InterruptedException {
        pool.shutdownNow();
        if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
            r.setupProblems.add("the load's own threads did not end within 30 s");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // phase a: tunnels at once, bulk both ways

    private static void tcpBurst(PhaseResult r, StreamClient client, Env env, Config c) throws Exception {
        int n = c.tcpTunnels();
        r.attempted = n;
        r.openNanos = new long[n];
        long[] released = new long[1]; // written before the latch opens, read after: the latch orders it
        InetSocketAddress to = env.tcp.checkedAddress();
        ExecutorService writers = Executors.newFixedThreadPool(n, threads("load-tcp-write"));
        ExecutorService readers = Executors.newFixedThreadPool(n, threads("load-tcp-read"));
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        Set<TcpTunnel> open = ConcurrentHashMap.newKeySet();
        AtomicLong opened = new AtomicLong();
        AtomicLong ok = new AtomicLong();
        AtomicLong forward = new AtomicLong();
        AtomicLong back = new AtomicLong();
        List<Future<?>> tasks = new ArrayList<>();
        long start;
        try {
            for (int i = 0; i < n; i++) {
                int id = i;
                tasks.add(writers.submit(() -> {
                    ready.countDown();
                    if (!go.await(60, TimeUnit.SECONDS)) {
                        r.failures.add("start: not released within 60 s");
                        return null;
                    }
                    long[] crc = bulk(client, to, id, c.tcpBytes(), new BulkHooks(readers, open, opened, r,
                            released, id));
                    if (crc == null) {
                        return null;
                    }
                    if (crc[1] != crc[0]) {
                        forward.incrementAndGet();
                    }
                    if (crc[2] != crc[1]) {
                        back.incrementAndGet();
                    }
                    if (crc[0] == crc[1] && crc[1] == crc[2]) {
                        ok.incrementAndGet();
                    }
                    return null;
                }));
            }
            if (!ready.await(60, TimeUnit.SECONDS)) {
                r.setupProblems.add("only " + (n - ready.getCount()) + " of " + n + " threads started in 60 s");
            }
            start = System.nanoTime();
            released[0] = start;
            go.countDown();
            // at 5 MB/s in all at least; a slower run is a failure in itself
            awaitAll(tasks, Duration.ofSeconds(60 + 2L * n * c.tcpBytes() / 5_000_000), open, r);
        } finally {
            shutdown(writers, r);
            shutdown(readers, r);
        }
        r.seconds = (System.nanoTime() - start) / 1e9;
        r.opened = opened.get();
        r.succeeded = ok.get();
        r.forwardMismatches = forward.get();
        r.returnMismatches = back.get();
        r.megabytesPerSecond = 2.0 * c.tcpBytes() * ok.get() / 1e6 / r.seconds;
    }

    /** Where a bulk tunnel of the burst reads, registers itself and counts. */
    record BulkHooks(ExecutorService readers, Set<TcpTunnel> open, AtomicLong opened, PhaseResult result,
                     long[] released, int id) {
    }

    /**
     * One checked tunnel: sends a length and {@code size} seeded bytes, and reads them back with the destination's
     * CRC of what it received.
     *
     * @return {CRC sent, CRC the destination received, CRC that came back}, or null if it failed (counted in the
     *         hooks' result; without hooks a failure throws)
     */
    static long[] bulk(StreamClient client, InetSocketAddress to, int id, int size, BulkHooks hooks)
            throws Exception {
        TcpTunnel t;
        try {
            t = client.openTcp(to.getAddress().getHostAddress(), to.getPort());
        } catch (IOException e) {
            if (hooks == null) {
                throw e;
            }
            hooks.result.failures.add("open", e);
            return null;
        }
        Future<long[]> reader = null;
        try {
            if (hooks != null) {
                hooks.opened.incrementAndGet();
                hooks.result.openNanos[hooks.id] = System.nanoTime() - hooks.released[0];
                hooks.open.add(t);
            }
            t.setReadTimeout(READ_TIMEOUT);
            if (hooks != null) {
                reader = hooks.readers.submit(() -> readBack(t.input(), size));
            }
            long sent = writeSeeded(t.output(), id, size);
            long[] got = reader != null ? reader.get(READ_TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS)
                    : readBack(t.input(), size);
            return new long[] {sent, got[1], got[0]};
        } catch (Exception e) {
            if (hooks == null) {
                throw e;
            }
            hooks.result.failures.add("transfer", e);
            return null;
        } finally {
            t.close();
            if (reader != null) {
                reader.cancel(true);
            }
            if (hooks != null) {
                hooks.open.remove(t);
            }
        }
    }

    private static long writeSeeded(OutputStream out, int id, int size) throws IOException {
        SplittableRandom random = new SplittableRandom(0x5EEDL * 1_000_003 + id);
        CRC32 crc = new CRC32();
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
        out.write(ByteBuffer.allocate(4).putInt(size).array());
        for (int done = 0; done < size; ) {
            chunk.clear();
            while (chunk.remaining() >= 8) {
                chunk.putLong(random.nextLong());
            }
            int len = Math.min(CHUNK, size - done);
            crc.update(chunk.array(), 0, len);
            out.write(chunk.array(), 0, len);
            done += len;
        }
        out.flush();
        return crc.getValue();
    }

    /** @return {CRC of the {@code size} bytes read, the CRC the destination sent after them} */
    private static long[] readBack(InputStream in, int size) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[CHUNK];
        for (int left = size; left > 0; ) {
            int n = in.read(buf, 0, Math.min(buf.length, left));
            if (n < 0) {
                throw new EOFException("end of stream with " + left + " of " + size + " bytes still to come");
            }
            crc.update(buf, 0, n);
            left -= n;
        }
        byte[] trailer = in.readNBytes(8);
        if (trailer.length < 8) {
            throw new EOFException("end of stream before the destination's checksum");
        }
        return new long[] {crc.getValue(), ByteBuffer.wrap(trailer).getLong()};
    }

    /**
     * Waits for every task within one bound; when it passes, closes what is still open so that the tasks end, and
     * gives them 30 s more to do so.
     */
    private static void awaitAll(List<? extends Future<?>> tasks, Duration bound, Set<? extends Closeable> open,
                                 PhaseResult r) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        boolean expired = false;
        long timedOut = 0;
        for (Future<?> f : tasks) {
            while (true) {
                try {
                    f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    if (!expired) {
                        expired = true;
                        timedOut = tasks.stream().filter(t -> !t.isDone()).count();
                        for (Closeable c : open) {
                            try {
                                c.close();
                            } catch (IOException ignored) {
                                // closing
                            }
                        }
                        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                        continue;
                    }
                    f.cancel(true);
                } catch (ExecutionException e) {
                    r.failures.add("task", e);
                }
                break;
            }
        }
        if (timedOut > 0) {
            r.failures.add(timedOut + " tunnels not done within the phase's bound of " + bound.toSeconds()
                    + " s (closed then)");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // phase b: DTLS sessions at once, numbered datagrams in lockstep

    /** A datagram: session id, sequence number, seeded filler, CRC32 of all before it. */
    static byte[] datagram(long session, long seq, int size) {
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putLong(session).putLong(seq);
        SplittableRandom random = new SplittableRandom(session * 1_000_003 + seq);
        while (b.remaining() > 8) {
            b.put((byte) random.nextInt());
        }
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, size - 8);
        b.putLong(crc.getValue());
        return b.array();
    }

    private static boolean selfConsistent(byte[] d, int len) {
        if (len < 24) {
            return false;
        }
        CRC32 crc = new CRC32();
        crc.update(d, 0, len - 8);
        return ByteBuffer.wrap(d, len - 8, 8).getLong() == crc.getValue();
    }

    private static void udpBurst(PhaseResult r, StreamClient client, Env env, Config c) throws Exception {
        int n = c.udpSessions();
        r.attempted = n;
        r.openNanos = new long[n];
        long[] released = new long[1];
        ExecutorService pool = Executors.newFixedThreadPool(n, threads("load-udp"));
        CountDownLatch ready = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        Set<DatagramTunnel> open = ConcurrentHashMap.newKeySet();
        AtomicLong opened = new AtomicLong();
        AtomicLong ok = new AtomicLong();
        AtomicLong lost = new AtomicLong();
        AtomicLong corrupted = new AtomicLong();
        AtomicLong late = new AtomicLong();
        AtomicLong echoed = new AtomicLong();
        List<Future<?>> tasks = new ArrayList<>();
        long start;
        try {
            for (int i = 0; i < n; i++) {
                long session = i;
                tasks.add(pool.submit(() -> {
                    ready.countDown();
                    if (!go.await(60, TimeUnit.SECONDS)) {
                        r.failures.add("start: not released within 60 s");
                        return null;
                    }
                    DatagramTunnel t;
                    try {
                        t = client.openUdp(env.udp.host(), env.udp.port());
                    } catch (IOException e) {
                        r.failures.add("open", e);
                        return null;
                    }
                    opened.incrementAndGet();
                    r.openNanos[(int) session] = System.nanoTime() - released[0];
                    open.add(t);
                    try (t) {
                        ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
                        for (long seq = 0; seq < c.udpDatagrams(); seq++) {
                            byte[] sent = datagram(session, seq, c.datagramSize());
                            t.send(ByteBuffer.wrap(sent));
                            long deadline = System.nanoTime() + DATAGRAM_TIMEOUT.toNanos();
                            while (true) {
                                long left = deadline - System.nanoTime();
                                if (left <= 0) {
                                    lost.incrementAndGet();
                                    break;
                                }
                                in.clear();
                                int len;
                                try {
                                    len = t.receive(in, Duration.ofNanos(left));
                                } catch (SocketTimeoutException e) {
                                    lost.incrementAndGet();
                                    break;
                                }
                                if (len < 0) {
                                    throw new EOFException("the server ended the session after " + seq
                                            + " datagrams");
                                }
                                byte[] got = Arrays.copyOf(in.array(), len);
                                long gotSession = len >= 16 ? ByteBuffer.wrap(got).getLong(0) : -1;
                                long gotSeq = len >= 16 ? ByteBuffer.wrap(got).getLong(8) : -1;
                                if (gotSession == session && gotSeq == seq && Arrays.equals(got, sent)) {
                                    echoed.incrementAndGet();
                                    break;
                                }
                                if (gotSession == session && gotSeq < seq && gotSeq >= 0
                                        && selfConsistent(got, len) && len == sent.length) {
                                    late.incrementAndGet(); // an earlier one, already counted lost
                                    continue;
                                }
                                corrupted.incrementAndGet();
                            }
                        }
                        ok.incrementAndGet();
                    } catch (IOException e) {
                        r.failures.add("datagrams", e);
                    } finally {
                        open.remove(t);
                    }
                    return null;
                }));
            }
            if (!ready.await(60, TimeUnit.SECONDS)) {
                r.setupProblems.add("only " + (n - ready.getCount()) + " of " + n + " threads started in 60 s");
            }
            start = System.nanoTime();
            released[0] = start;
            go.countDown();
            awaitAll(tasks, Duration.ofSeconds(30).plus(DATAGRAM_TIMEOUT.multipliedBy(c.udpDatagrams())), open, r);
        } finally {
            shutdown(pool, r);
        }
        r.seconds = (System.nanoTime() - start) / 1e9;
        r.opened = opened.get();
        r.succeeded = ok.get();
        r.datagrams = (long) n * c.udpDatagrams();
        r.lost = lost.get();
        r.corrupted = corrupted.get();
        r.late = late.get();
        r.maxLoss = c.maxLoss();
        r.perSecond = echoed.get() / r.seconds;
    }

    // ---------------------------------------------------------------------------------------------------------
    // phase c: many short tunnels, bounded concurrency

    static void shortTunnel(StreamClient client, InetSocketAddress to, int i) throws IOException {
        try (TcpTunnel t = client.openTcp(to.getAddress().getHostAddress(), to.getPort())) {
            t.setReadTimeout(READ_TIMEOUT);
            t.output().write(i & 0xff);
            t.output().flush();
            int b = t.input().read();
            if (b != (i & 0xff)) {
                throw new IOException(b < 0 ? "end of stream instead of the echo" : "echo " + b + " for "
                        + (i & 0xff));
            }
        }
    }

    private static void shortTunnels(PhaseResult r, StreamClient client, Env env, Config c, PrintStream out)
            throws Exception {
        int n = c.shortTunnels();
        int k = Math.min(n, c.shortConcurrency());
        r.attempted = n;
        r.openNanos = new long[n];
        InetSocketAddress to = env.tcp.echoAddress();
        ExecutorService pool = Executors.newFixedThreadPool(k, threads("load-short"));
        AtomicInteger next = new AtomicInteger();
        AtomicLong ok = new AtomicLong();
        AtomicLong opened = new AtomicLong();
        CountDownLatch done = new CountDownLatch(k);
        long start = System.nanoTime();
        // at 20 tunnels/s at least; a slower run is a failure in itself
        long bound = TimeUnit.SECONDS.toNanos(60 + n / 20);
        try {
            for (int w = 0; w < k; w++) {
                pool.execute(() -> {
                    try {
                        int i;
                        while ((i = next.getAndIncrement()) < n && System.nanoTime() - start < bound) {
                            TcpTunnel t;
                            long begin = System.nanoTime();
                            try {
                                t = client.openTcp(to.getAddress().getHostAddress(), to.getPort());
                            } catch (IOException e) {
                                r.failures.add("open", e);
                                continue;
                            }
                            r.openNanos[i] = System.nanoTime() - begin;
                            opened.incrementAndGet();
                            try (t) {
                                t.setReadTimeout(READ_TIMEOUT);
                                t.output().write(i & 0xff);
                                t.output().flush();
                                int b = t.input().read();
                                if (b == (i & 0xff)) {
                                    ok.incrementAndGet();
                                } else {
                                    r.failures.add(b < 0 ? "echo: end of stream instead of the echo"
                                            : "echo: wrong byte");
                                }
                            } catch (IOException e) {
                                r.failures.add("echo", e);
                            }
                        }
                    } finally {
                        done.countDown();
                    }
                });
            }
            long reportEvery = TimeUnit.SECONDS.toNanos(15);
            while (!done.await(reportEvery, TimeUnit.NANOSECONDS)) {
                long elapsed = System.nanoTime() - start;
                out.printf(Locale.ROOT, "  %d of %d short tunnels, %.0f/s%n", Math.min(next.get(), n), n,
                        ok.get() / (elapsed / 1e9));
                if (elapsed > bound + TimeUnit.SECONDS.toNanos(30)) {
                    r.setupProblems.add("short tunnels still running " + (bound / 1_000_000_000 + 30) + " s in");
                    break;
                }
            }
        } finally {
            shutdown(pool, r);
        }
        r.seconds = (System.nanoTime() - start) / 1e9;
        r.opened = opened.get();
        r.succeeded = ok.get();
        r.perSecond = ok.get() / r.seconds;
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * Runs the program.
     *
     * @param args see the class comment
     * @throws Exception on a failure outside the checks
     */
    public static void main(String[] args) throws Exception {
        Config c = Config.full();
        List<String> names = new ArrayList<>(List.of("jdk", "netty", "netty-openssl", "bc"));
        String nettySsl = null;
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                usage("bad argument " + args[i]);
            }
            a.put(args[i].substring(2), args[++i]);
        }
        for (Map.Entry<String, String> e : a.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "transport":
                    names = v.equals("all") ? names : List.of(v.split(","));
                    break;
                case "netty-ssl":
                    nettySsl = v;
                    break;
                case "phases":
                    c = with(c, v, -1, -1, -1, -1, -1, -1);
                    break;
                case "tcp-tunnels":
                    c = with(c, null, Integer.parseInt(v), -1, -1, -1, -1, -1);
                    break;
                case "tcp-kib":
                    c = with(c, null, -1, Integer.parseInt(v) * 1024, -1, -1, -1, -1);
                    break;
                case "udp-sessions":
                    c = with(c, null, -1, -1, Integer.parseInt(v), -1, -1, -1);
                    break;
                case "udp-datagrams":
                    c = with(c, null, -1, -1, -1, Integer.parseInt(v), -1, -1);
                    break;
                case "short":
                    c = with(c, null, -1, -1, -1, -1, Integer.parseInt(v), -1);
                    break;
                case "short-concurrency":
                    c = with(c, null, -1, -1, -1, -1, -1, Integer.parseInt(v));
                    break;
                default:
                    usage("unknown option --" + e.getKey());
            }
        }
        List<Variant> variants = new ArrayList<>();
        for (String n : names) {
            if (n.equals("netty") && "openssl".equals(nettySsl)) {
                n = "netty-openssl";
            }
            variants.add(Variant.named(n));
        }
        long limit = fileDescriptorLimit();
        System.out.printf(Locale.ROOT, "load and soak, %s, JDK %s, %d cores, fd limit %d (need about %d), %s%n",
                LocalDate.now(), System.getProperty("java.vm.version"), Runtime.getRuntime().availableProcessors(),
                limit, c.fileDescriptorsNeeded(), c);
        if (limit >= 0 && limit < c.fileDescriptorsNeeded()) {
            System.err.printf(Locale.ROOT, "the open-file limit %d is below the %d this run needs (%d tunnels at "
                    + "once are 4 descriptors each in this one process: client, server side, server to "
                    + "destination, destination); raise it (ulimit -n) or pass a smaller --tcp-tunnels%n", limit,
                    c.fileDescriptorsNeeded(), c.tcpTunnels());
            System.exit(2);
        }
        List<PhaseResult> results = run(variants, c, System.out);
        System.out.println();
        System.out.println(table(results, c));
        List<String> problems = new ArrayList<>();
        for (PhaseResult r : results) {
            problems.addAll(r.problems());
        }
        if (!problems.isEmpty()) {
            System.out.println("FAILED:");
            problems.forEach(p -> System.out.println("  " + p));
        }
        System.exit(problems.isEmpty() ? 0 : 1);
    }

    private static Config with(Config c, String phases, int tcpTunnels, int tcpBytes, int udpSessions,
                               int udpDatagrams, int shortTunnels, int shortConcurrency) {
        return new Config(tcpTunnels > 0 ? tcpTunnels : c.tcpTunnels(), tcpBytes > 0 ? tcpBytes : c.tcpBytes(),
                udpSessions > 0 ? udpSessions : c.udpSessions(), udpDatagrams > 0 ? udpDatagrams
                : c.udpDatagrams(), c.datagramSize(), c.maxLoss(), shortTunnels > 0 ? shortTunnels
                : c.shortTunnels(), shortConcurrency > 0 ? shortConcurrency : c.shortConcurrency(),
                phases != null ? phases : c.phases(), c.serverPerPhase(), c.threadWait(), c.closeWait());
    }

    private static void usage(String why) {
        System.err.println(why + "\nusage: LoadSoak [--transport jdk,netty,netty-openssl,bc|all] [--netty-ssl "
                + "openssl] [--phases abc] [--tcp-tunnels N] [--tcp-kib N] [--udp-sessions N] [--udp-datagrams N] "
                + "[--short N] [--short-concurrency N]");
        System.exit(2);
    }

    /**
     * Formats the summary: one row per phase and transport, as a Markdown table.
     *
     * @param results the results
     * @param c       the sizes
     * @return the table
     */
    public static String table(List<PhaseResult> results, Config c) {
        StringBuilder b = new StringBuilder();
        b.append("| transport | phase | result | ok / tried | refused | failed | checks | wall | rate "
                + "| open p50 / p99 / max | fds base -> after | threads base -> after |\n");
        b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (PhaseResult r : results) {
            String name;
            switch (r.phase) {
                case "a":
                    name = String.format(Locale.ROOT, "a: %d TCP at once x %d KiB each way", c.tcpTunnels(),
                            c.tcpBytes() / 1024);
                    break;
                case "b":
                    name = String.format(Locale.ROOT, "b: %d DTLS at once x %d datagrams", c.udpSessions(),
                            c.udpDatagrams());
                    break;
                case "c":
                    name = String.format(Locale.ROOT, "c: %,d short TCP, %d in flight", c.shortTunnels(),
                            c.shortConcurrency());
                    break;
                default:
                    name = "end: server closed";
            }
            String checks;
            String rate = "";
            if (r.phase.equals("a")) {
                checks = "CRC mismatch " + (r.forwardMismatches + r.returnMismatches);
                rate = String.format(Locale.ROOT, "%.0f MB/s", r.megabytesPerSecond);
            } else if (r.phase.equals("b")) {
                checks = String.format(Locale.ROOT, "lost %d / %d, corrupted %d", r.lost, r.datagrams,
                        r.corrupted);
                rate = String.format(Locale.ROOT, "%.0f datagrams/s", r.perSecond);
            } else if (r.phase.equals("c")) {
                checks = "echo";
                rate = String.format(Locale.ROOT, "%.0f tunnels/s", r.perSecond);
            } else {
                checks = "";
            }
            ResourceCheck last = r.checks.isEmpty() ? null : r.checks.get(r.checks.size() - 1);
            String fds = "";
            String thr = "";
            if (last != null) {
                fds = last.baseFds() + " -> " + last.fds();
                thr = last.baseThreads() + " -> " + last.threads();
                if (r.checks.size() > 1) {
                    ResourceCheck first = r.checks.get(0);
                    fds = first.baseFds() + " -> " + first.fds() + "; closed: " + fds;
                    thr = first.baseThreads() + " -> " + first.threads() + "; closed: " + thr;
                }
            }
            boolean end = r.phase.equals("end");
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    r.variant, name, r.problems().isEmpty() ? "ok" : "**FAIL**",
                    end ? "" : r.succeeded + " / " + r.attempted, end ? "" : String.valueOf(r.refusedTotal()),
                    end ? "" : String.valueOf(r.attempted - r.succeeded), checks,
                    end ? "" : String.format(Locale.ROOT, "%.1f s", r.seconds), rate, r.openTimes(), fds, thr));
        }
        return b.toString();
    }
}

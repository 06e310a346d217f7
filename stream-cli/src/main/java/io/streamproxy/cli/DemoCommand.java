package io.streamproxy.cli;

import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stream-proxy demo}: certificates in a temporary folder, echo destinations, a server and forwards on
 * loopback; for each transport it moves data through TCP and UDP, checks every byte, and prints throughput,
 * latency and handshake time next to direct loopback measured in the same run. Exit 0 only if every check passed.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run every transport on loopback with generated certificates and print a table.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--transport", paramLabel = "NAME", description = "Transports to run (default: all).")
    List<String> transports = new ArrayList<>();

    @Option(names = "--tcp-mib", defaultValue = "256", description = "MiB through TCP per transport "
            + "(default: ${DEFAULT-VALUE}).")
    int tcpMib;

    @Option(names = "--datagrams", defaultValue = "10000", description = "Datagrams through UDP per transport "
            + "(default: ${DEFAULT-VALUE}).")
    int datagrams;

    private PrintWriter out;
    private boolean allPassed = true;

    /** One row of the table. */
    private record Row(String name, String protocol, String throughput, String p50, String p99, String handshake,
                       String check) {
    }

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("stream-proxy-demo-");
        try (EchoDestinations echo = new EchoDestinations()) {
            CertsCommand.write(dir, "godoxy.agent", List.of(), true, 1);
            TlsCredentials server = TlsCredentials.fromPem(dir.resolve("ca.pem"), dir.resolve("server.pem"),
                    dir.resolve("server-key.pem"));
            TlsCredentials client = TlsCredentials.fromPem(dir.resolve("ca.pem"), dir.resolve("client.pem"),
                    dir.resolve("client-key.pem"));
            out.println("certificates in " + dir + "; echo destinations tcp=" + Values.text(echo.tcpAddress())
                    + " udp=" + Values.text(echo.udpAddress()));
            out.flush();
            List<Row> rows = new ArrayList<>();
            rows.add(directTcp(echo.tcpAddress()));
            rows.add(directUdp(echo.udpAddress()));
            for (TransportProvider p : selected()) {
                for (Protocol protocol : new Protocol[] {Protocol.TCP, Protocol.UDP}) {
                    if (p.protocols().contains(protocol)) {
                        rows.add(tunnel(p.name(), protocol, server, client, echo));
                    }
                }
            }
            print(rows);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                    Files.deleteIfExists(f);
                }
            }
        }
        out.println(allPassed ? "all checks passed" : "SOME CHECKS FAILED");
        out.flush();
        return allPassed ? 0 : 1;
    }

    private List<TransportProvider> selected() {
        List<TransportProvider> all = TransportRegistry.getDefault().providers().stream()
                .filter(TransportProvider::isAvailable).collect(Collectors.toList());
        if (transports.isEmpty()) {
            return all;
        }
        List<TransportProvider> out = new ArrayList<>();
        for (String name : transports) {
            TransportProvider p = all.stream().filter(x -> x.name().equals(name)).findFirst()
                    .orElseThrow(() -> new CliException("unknown transport '" + name + "'; available: "
                            + all.stream().map(TransportProvider::name).collect(Collectors.joining(", "))));
            out.add(p);
        }
        return out;
    }

    private Row directTcp(InetSocketAddress echo) throws Exception {
        TcpMeasure m = measureTcp("direct tcp", echo);
        return new Row("direct loopback", "tcp", m.mbs(), m.p50(), m.p99(), "-", m.check());
    }

    private Row directUdp(InetSocketAddress echo) throws Exception {
        UdpMeasure m = measureUdp("direct udp", echo);
        return new Row("direct loopback", "udp", m.rate(), m.p50(), m.p99(), "-", m.check());
    }

    private Row tunnel(String transport, Protocol protocol, TlsCredentials serverCreds, TlsCredentials clientCreds,
                       EchoDestinations echo) throws Exception {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        StreamServerOptions.Builder options = StreamServerOptions.builder(serverCreds).transport(transport);
        if (protocol == Protocol.TCP) {
            options.tcp(loopback);
        } else {
            options.udp(loopback);
        }
        try (StreamServer server = StreamServer.start(options.build());
             StreamClient client = ClientFactory.create(protocol == Protocol.TCP ? server.tcpAddress()
                     : server.udpAddress(), clientCreds, null, transport, Duration.ofSeconds(10))) {
            String handshake = handshakeMillis(client, protocol);
            if (protocol == Protocol.TCP) {
                InetSocketAddress to = echo.tcpAddress();
                try (PortForward forward = client.forwardTcp(
                        Destination.of(to.getAddress().getHostAddress(), to.getPort()), loopback)) {
                    TcpMeasure m = measureTcp(transport + " tcp", forward.address());
                    return new Row("tunnel " + transport, "tcp", m.mbs(), m.p50(), m.p99(), handshake, m.check());
                }
            }
            InetSocketAddress to = echo.udpAddress();
            try (PortForward forward = client.forwardUdp(
                    Destination.of(to.getAddress().getHostAddress(), to.getPort()), loopback, Duration.ofMinutes(1))) {
                UdpMeasure m = measureUdp(transport + " udp", forward.address());
                return new Row("tunnel " + transport, "udp", m.rate(), m.p50(), m.p99(), handshake, m.check());
            }
        }
    }

    private static String handshakeMillis(StreamClient client, Protocol protocol) throws IOException {
        Histogram h = new Histogram(3);
        for (int i = 0; i < 20; i++) {
            Duration d = protocol == Protocol.TCP ? client.probeTcp() : client.probeUdp();
            h.recordValue(Math.max(1, d.toNanos() / 1000));
        }
        return String.format(Locale.ROOT, "%.1f ms", h.getValueAtPercentile(50) / 1000.0);
    }

    private record TcpMeasure(String mbs, String p50, String p99, String check) {
    }

    /**
     * Each path is warmed before it is measured, so that the transports measured first (on a JVM still compiling
     * what they share) are not the slowest in the table: this much of the bulk echo, these round trips, these
     * datagrams (or as many as are measured, if fewer), each checked as the measured ones are. The UDP paths need
     * as many as they measure: with 1,000, netty's was still compiling and came out at 60 % of jdk's.
     */
    static final int WARM_MIB = 32;
    static final int WARM_ROUND_TRIPS = 2000;
    static final int WARM_DATAGRAMS = 10_000;

    private TcpMeasure measureTcp(String task, InetSocketAddress target) throws Exception {
        long total = (long) tcpMib << 20;
        boolean ok = echoBulk(target, (long) Math.min(WARM_MIB, tcpMib) << 20, null);
        double seconds;
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(tcpMib)
                .setUnit(" MiB", 1).setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).build()) {
            long start = System.nanoTime();
            ok &= echoBulk(target, total, bar);
            seconds = (System.nanoTime() - start) / 1e9;
        }
        Histogram h = new Histogram(3);
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.connect(target, 10_000);
            s.setSoTimeout(10_000);
            byte[] request = new byte[1024];
            byte[] reply = new byte[1024];
            for (int i = -WARM_ROUND_TRIPS; i < 2000; i++) {
                long t0 = System.nanoTime();
                s.getOutputStream().write(request);
                int got = 0;
                while (got < reply.length) {
                    int r = s.getInputStream().read(reply, got, reply.length - got);
                    if (r < 0) {
                        throw new IOException("echo closed");
                    }
                    got += r;
                }
                if (i >= 0) {
                    h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
                }
            }
        }
        check(ok, task + ": " + tcpMib + " MiB echoed with equal SHA-256");
        return new TcpMeasure(String.format(Locale.ROOT, "%.0f MB/s", 2 * total / 1e6 / seconds),
                h.getValueAtPercentile(50) + " us", h.getValueAtPercentile(99) + " us", ok ? "ok" : "FAILED");
    }

    /** Sends bytes of random data to an echo through target and reads them back: whether all came back equal. */
    private static boolean echoBulk(InetSocketAddress target, long bytes, ProgressBar bar) throws Exception {
        byte[] block = new byte[256 * 1024];
        new Random(5).nextBytes(block);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.connect(target, 10_000);
            s.setSoTimeout(30_000);
            Future<byte[]> sent = writer.submit(() -> {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                OutputStream o = s.getOutputStream();
                for (long done = 0; done < bytes; done += block.length) {
                    int n = (int) Math.min(block.length, bytes - done);
                    sha.update(block, 0, n);
                    o.write(block, 0, n);
                }
                s.shutdownOutput();
                return sha.digest();
            });
            MessageDigest got = MessageDigest.getInstance("SHA-256");
            InputStream in = s.getInputStream();
            byte[] buf = new byte[256 * 1024];
            long received = 0;
            long reported = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                got.update(buf, 0, n);
                received += n;
                if (bar != null && received - reported >= 1 << 20) {
                    bar.stepTo(received >> 20);
                    reported = received;
                }
            }
            if (bar != null) {
                bar.stepTo(received >> 20);
            }
            return received == bytes && Arrays.equals(got.digest(), sent.get(30, TimeUnit.SECONDS));
        } finally {
            writer.shutdownNow();
        }
    }

    private record UdpMeasure(String rate, String p50, String p99, String check) {
    }

    private UdpMeasure measureUdp(String task, InetSocketAddress target) throws Exception {
        Random random = new Random(9);
        Histogram h = new Histogram(3);
        int ok = 0;
        int measuredOk = 0;
        int lost = 0;
        ByteBuffer in = ByteBuffer.allocate(65536);
        int warm = Math.min(WARM_DATAGRAMS, datagrams);
        long start = System.nanoTime();
        try (DatagramChannel c = DatagramChannel.open();
             ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(datagrams)
                     .setUpdateIntervalMillis(500).setConsumer(new ConsoleProgressBarConsumer(System.err)).build()) {
            c.connect(target);
            c.socket().setSoTimeout(2000);
            for (int i = -warm; i < datagrams; i++) {
                if (i == 0) {
                    start = System.nanoTime();
                }
                byte[] data = new byte[1 + random.nextInt(1400)];
                random.nextBytes(data);
                long t0 = System.nanoTime();
                c.write(ByteBuffer.wrap(data));
                java.net.DatagramPacket p = new java.net.DatagramPacket(in.array(), in.capacity());
                try {
                    c.socket().receive(p);
                } catch (SocketTimeoutException e) {
                    lost++;
                    continue;
                }
                if (i >= 0) {
                    h.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
                    bar.step();
                }
                if (p.getLength() == data.length && Arrays.equals(in.array(), 0, data.length, data, 0, data.length)) {
                    ok++;
                    measuredOk += i >= 0 ? 1 : 0;
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int sent = warm + datagrams;
        boolean passed = ok == sent;
        check(passed, task + ": " + ok + " of " + sent + " datagrams echoed intact, " + lost + " lost");
        return new UdpMeasure(String.format(Locale.ROOT, "%.0f dgram/s", measuredOk / seconds),
                h.getValueAtPercentile(50) + " us", h.getValueAtPercentile(99) + " us",
                passed ? "ok" : ok + "/" + sent);
    }

    private void check(boolean ok, String what) {
        if (!ok) {
            allPassed = false;
            spec.commandLine().getErr().println("check failed: " + what);
            spec.commandLine().getErr().flush();
        }
    }

    private void print(List<Row> rows) {
        String format = "%-18s %-5s %14s %10s %10s %11s %7s%n";
        out.printf(Locale.ROOT, format, "path", "proto", "throughput", "p50", "p99", "handshake", "check");
        for (Row r : rows) {
            out.printf(Locale.ROOT, format, r.name(), r.protocol(), r.throughput(), r.p50(), r.p99(), r.handshake(),
                    r.check());
        }
        out.flush();
    }
}

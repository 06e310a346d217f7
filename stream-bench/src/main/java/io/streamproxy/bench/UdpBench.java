package io.streamproxy.bench;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * UDP through the tunnel against direct UDP on loopback, in one run: 1200-byte datagrams per second in
 * request-reply lockstep, and a paced one-way stream (echoed back) at rising rates with loss counted.
 *
 * <pre>
 * ./mvnw -B -q package -DskipTests -pl stream-bench -am
 * java -cp stream-bench/target/stream-bench.jar io.streamproxy.bench.UdpBench [transport] [seconds]
 * </pre>
 */
public final class UdpBench {
    private static final int SIZE = 1200;

    private UdpBench() {
    }

    /** A way to send and receive one datagram. */
    private interface Path {
        void send(ByteBuffer b) throws IOException;

        /** @return false on timeout */
        boolean receive(ByteBuffer b, Duration timeout) throws IOException;
    }

    /**
     * Runs the benchmark.
     *
     * @param args transport name (default jdk), seconds per measurement (default 3)
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        String transport = args.length > 0 ? args[0] : "jdk";
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        TestPki pki = TestPki.create();
        try (UdpDestination echo = UdpDestination.echo();
             StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                     .transport(transport).udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                     .build());
             StreamClient client = StreamClient.create(StreamClientOptions.builder(server.udpAddress(),
                     pki.clientCredentials()).transport(transport).build());
             DatagramTunnel tunnel = client.openUdp(echo.host(), echo.port());
             DatagramChannel direct = DatagramChannel.open()) {
            direct.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            direct.connect(echo.address());
            direct.socket().setSoTimeout(1000);
            Path directPath = new Path() {
                @Override
                public void send(ByteBuffer b) throws IOException {
                    direct.write(b);
                }

                @Override
                public boolean receive(ByteBuffer b, Duration timeout) throws IOException {
                    direct.socket().setSoTimeout((int) Math.max(1, timeout.toMillis()));
                    java.net.DatagramPacket p = new java.net.DatagramPacket(b.array(), b.capacity());
                    try {
                        direct.socket().receive(p);
                        return true;
                    } catch (SocketTimeoutException e) {
                        return false;
                    }
                }
            };
            Path tunnelPath = new Path() {
                @Override
                public void send(ByteBuffer b) throws IOException {
                    tunnel.send(b);
                }

                @Override
                public boolean receive(ByteBuffer b, Duration timeout) throws IOException {
                    try {
                        return tunnel.receive(b, timeout) >= 0;
                    } catch (SocketTimeoutException e) {
                        return false;
                    }
                }
            };
            // warm-up: JIT of the DTLS and relay paths
            lockstep(directPath, 2);
            lockstep(tunnelPath, 2);

            System.out.printf(Locale.ROOT, "UDP, %d-byte datagrams, transport %s, %d s per figure, %s%n", SIZE,
                    transport, seconds, System.getProperty("java.vm.version"));
            double d = lockstep(directPath, seconds);
            double t = lockstep(tunnelPath, seconds);
            System.out.printf(Locale.ROOT, "%-34s %12s %12s %8s%n", "measure", "direct", "tunnel", "ratio");
            System.out.printf(Locale.ROOT, "%-34s %12.0f %12.0f %8.2f%n", "lockstep round trips/s", d, t, t / d);
            for (int rate : new int[] {10_000, 20_000, 40_000, 80_000}) {
                long[] dr = paced(directPath, rate, seconds);
                long[] tr = paced(tunnelPath, rate, seconds);
                System.out.printf(Locale.ROOT, "%-34s %12s %12s %8.2f%n", "paced " + rate + "/s: echoed/s (loss)",
                        (dr[1] / seconds) + " (" + pct(dr) + ")", (tr[1] / seconds) + " (" + pct(tr) + ")",
                        (double) tr[1] / Math.max(1, dr[1]));
            }
        }
    }

    private static String pct(long[] r) {
        return String.format(Locale.ROOT, "%.1f%%", 100.0 * (r[0] - r[1]) / Math.max(1, r[0]));
    }

    private static double lockstep(Path path, int seconds) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(SIZE);
        ByteBuffer in = ByteBuffer.allocate(65536);
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long start = System.nanoTime();
        long count = 0;
        while (System.nanoTime() < end) {
            out.clear();
            path.send(out);
            in.clear();
            if (path.receive(in, Duration.ofSeconds(1))) {
                count++;
            }
        }
        return count / ((System.nanoTime() - start) / 1e9);
    }

    /** Sends at a fixed rate while a second thread counts echoes; returns {sent, received}. */
    private static long[] paced(Path path, int rate, int seconds) throws Exception {
        AtomicLong received = new AtomicLong();
        long total = (long) rate * seconds;
        List<Throwable> errors = new ArrayList<>();
        Thread receiver = new Thread(() -> {
            ByteBuffer in = ByteBuffer.allocate(65536);
            try {
                while (received.get() < total) {
                    in.clear();
                    if (!path.receive(in, Duration.ofMillis(500))) {
                        return;
                    }
                    received.incrementAndGet();
                }
            } catch (IOException e) {
                errors.add(e);
            }
        }, "bench-receiver");
        receiver.start();
        ByteBuffer out = ByteBuffer.allocate(SIZE);
        long interval = 1_000_000_000L / rate;
        long next = System.nanoTime();
        for (long i = 0; i < total; i++) {
            long wait = next - System.nanoTime();
            if (wait > 20_000) {
                LockSupport.parkNanos(wait);
            }
            out.clear();
            path.send(out);
            next += interval;
        }
        receiver.join(10_000);
        if (!errors.isEmpty()) {
            throw new IOException("receiver failed", errors.get(0));
        }
        return new long[] {total, received.get()};
    }
}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Protocol;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Resources over TCP: closing a server ends its live sessions and its idle connections and leaves no thread or file
 * descriptor behind.
 */
public abstract class TcpResourceKit extends TcpKitBase {
    @Test
    public void serverClose_endsLiveSessions_andLeavesNoThreadOrSocket() throws Exception {
        // warm up: JDK-internal threads and caches that start on first use are not the server's; the warm-up server
        // reports to no listener, so that its session does not count among those awaited below
        try (StreamServer warm = newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT)
                .listener(SessionListener.NONE).tcp(loopback()).build());
             StreamClient c = newClient(clientOptions(warm.tcpAddress(), pki.clientCredentials()).build());
             TcpTunnel t = open(c, echo.host(), echo.port())) {
            t.output().write(1);
            t.input().read();
        }
        ResourceSnapshot before = ResourceSnapshot.take();
        TcpDestination dest = TcpDestination.echo();
        StreamServer server = newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT).tcp(loopback())
                .build());
        StreamClient client = newClient(clientOptions(server.tcpAddress(), pki.clientCredentials()).build());
        List<TcpTunnel> tunnels = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            TcpTunnel t = open(client, dest.host(), dest.port());
            t.output().write(i);
            assertThat(t.input().read()).isEqualTo(i);
            tunnels.add(t);
        }
        Socket idle = new Socket();
        idle.connect(server.tcpAddress(), (int) WAIT.toMillis());
        assertThat(server.activeSessions(Protocol.TCP)).isEqualTo(5);

        server.close();

        for (TcpTunnel t : tunnels) {
            assertClosedByServer(t.input());
        }
        assertClosedByServer(idle.getInputStream());
        for (int i = 0; i < 5; i++) {
            events.awaitClosed(WAIT);
        }
        for (TcpTunnel t : tunnels) {
            t.close();
        }
        idle.close();
        client.close();
        dest.close();
        List<Thread> leftover = before.threadsStartedSince(Duration.ofSeconds(10));
        assertThat(leftover).as("threads left running 10 s after the server closed (a transport must stop every"
                + " thread it starts): %s", ResourceSnapshot.names(leftover)).isEmpty();
        if (before.fileDescriptors() >= 0) {
            assertThat(ResourceSnapshot.openFileDescriptors()).isLessThanOrEqualTo(before.fileDescriptors());
        }
    }

    private static InetSocketAddress loopback() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }

    /**
     * A burst of clients past the handshake limits (of the server, and of their one source) waits in the listen
     * backlog and in the core's waiting room for a slot: every tunnel opens, none is refused for capacity.
     */
    @Test
    public void burstPastTheHandshakeLimits_waits_andNoneIsRefused() throws Exception {
        StreamServer server = startServer(b -> b.maxHandshakes(4).maxHandshakesPerSource(2)
                .headerTimeout(Duration.ofSeconds(15)));
        StreamClient client = closeLater(client(server));
        int n = 48;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<Integer>> echoes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                echoes.add(pool.submit(() -> {
                    go.await();
                    try (TcpTunnel t = open(client, echo.host(), echo.port())) {
                        t.output().write(id);
                        t.output().flush();
                        return t.input().read();
                    }
                }));
            }
            go.countDown();
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                try {
                    Integer got = echoes.get(i).get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                    if (got != i) {
                        failures.add("tunnel " + i + " echoed " + got);
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    failures.add("tunnel " + i + ": " + e.getCause());
                }
            }
            assertThat(failures).as("failed tunnels; the server's refusals: %s", events.refusals()).isEmpty();
        } finally {
            pool.shutdownNow();
        }
        assertThat(events.refusals()).as("refusals").isEmpty();
    }

    /**
     * A client that stopped reading while the destination keeps sending fills every buffer on the way, so the
     * server's writes to it block; closing the server must still end in bounded time.
     */
    @Test
    public void serverClose_endsInBoundedTime_withAClientThatStoppedReading() throws Exception {
        TcpDestination flood = closeLater(TcpDestination.scripted());
        StreamServer server = closeLater(newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT)
                .tcp(loopback()).build()));
        StreamClient client = closeLater(newClient(clientOptions(server.tcpAddress(), pki.clientCredentials())
                .build()));
        TcpTunnel stuck = closeLater(open(client, flood.host(), flood.port()));
        Socket destination = flood.takeConnection(WAIT);
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        Thread writer = new Thread(() -> {
            byte[] chunk = new byte[64 * 1024];
            try {
                java.io.OutputStream out = destination.getOutputStream();
                while (true) {
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // the server closed the destination: done
            }
        }, "kit-flooding-destination");
        writer.setDaemon(true);
        writer.start();
        // the writer stalls once the client's, the server's and the destination's buffers are full
        long last = -1;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            writer.join(500);
            long now = written.get();
            if (now == last && now > 0) {
                break;
            }
            last = now;
        }
        assertThat(written.get()).as("the destination's writes stalled").isPositive();
        long start = System.nanoTime();
        server.close();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("close with a stuck write")
                .isLessThan(Duration.ofSeconds(10));
        writer.join(WAIT.toMillis());
        assertThat(writer.isAlive()).as("the destination was closed").isFalse();
    }

    /**
     * Accepted and dialled sockets use TCP keepalive, so that a peer that vanishes without a FIN is found and its
     * session reaped: the kernel's socket table shows the keepalive timer (timer 2) on the server's end of the
     * client's connection and on its end of the dialled one (Linux: {@code /proc/net/tcp}).
     */
    @Test
    public void acceptedAndDialledSockets_useKeepalive() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(
                java.nio.file.Path.of("/proc/net/tcp")), "reads the kernel's socket table (Linux)");
        TcpDestination scripted = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        StreamClient client = closeLater(client(server));
        TcpTunnel t = closeLater(open(client, scripted.host(), scripted.port()));
        Socket d = scripted.takeConnection(WAIT);
        int clientPort = ((InetSocketAddress) t.localAddress()).getPort();
        assertThat(idleTimer(server.tcpAddress().getPort(), clientPort))
                .as("kernel timer of the server's end of the client's connection (2 is TCP keepalive: accepted"
                        + " sockets must use keepalive, so that a client that vanished is reaped)").isEqualTo(2);
        assertThat(idleTimer(d.getPort(), scripted.port()))
                .as("kernel timer of the server's end of the dialled connection (2 is TCP keepalive: dialled"
                        + " sockets must use keepalive)").isEqualTo(2);
    }

    /**
     * The connection's timer once it is idle: right after the handshake the retransmission timer (1) may still run
     * until the last segment is acknowledged, so the table is read again every 20 ms, for at most 5 s.
     */
    private static int idleTimer(int localPort, int remotePort) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        int timer = kernelTimer(localPort, remotePort);
        while (timer == 1 && System.nanoTime() < end) {
            never.await(20, java.util.concurrent.TimeUnit.MILLISECONDS);
            timer = kernelTimer(localPort, remotePort);
        }
        return timer;
    }

    /** The timer column of the established connection with these local and remote ports, or -1. */
    private static int kernelTimer(int localPort, int remotePort) throws IOException {
        for (String file : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            java.nio.file.Path path = java.nio.file.Path.of(file);
            if (!java.nio.file.Files.isReadable(path)) {
                continue;
            }
            for (String line : java.nio.file.Files.readAllLines(path)) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 6 || !f[3].equals("01")) {
                    continue; // the header line, or not ESTABLISHED
                }
                int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
                int remote = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                if (local == localPort && remote == remotePort) {
                    return Integer.parseInt(f[5].substring(0, f[5].indexOf(':')), 16);
                }
            }
        }
        return -1;
    }

    /**
     * A refused connection lingers (half-closed, draining for up to a second, so that the alert is not overtaken by
     * a reset), but those lingering connections are outside the handshake limit, so they are bounded by it too: of
     * 8 connections refused at once by a server with 2 handshake slots, at most 2 linger; the others are closed at
     * once, so that bytes the client still sends are answered with a reset.
     */
    @Test
    public void refusedConnectionsThatLinger_areBoundedByTheHandshakeLimit() throws Exception {
        StreamServer server = startServer(b -> b.maxHandshakes(2).maxHandshakesPerSource(2)
                .headerTimeout(Duration.ofSeconds(15)));
        int n = 8;
        List<javax.net.ssl.SSLSocket> refused = new ArrayList<>();
        try {
            // one after the other, quickly: the first two still linger when the others are refused
            for (int i = 0; i < n; i++) {
                javax.net.ssl.SSLSocket c = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                        new String[] {io.streamproxy.protocol.StreamProtocol.ALPN}, WAIT);
                refused.add(c);
                c.getOutputStream().write(new byte[io.streamproxy.protocol.StreamProtocol.HEADER_SIZE]); // invalid
                c.getOutputStream().flush();
                // read past the TLS layer (which would answer the server's close_notify by closing its output)
                assertThat(RawTlsClient.transport(c).getInputStream().readAllBytes()).as("refused: the server's "
                        + "close_notify, then its FIN").isNotEmpty();
            }
            // within the linger second: a lingering server socket drains what comes, a closed one resets
            for (javax.net.ssl.SSLSocket c : refused) {
                RawTlsClient.transport(c).getOutputStream().write(1);
            }
            java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
            assertThat(never.await(100, java.util.concurrent.TimeUnit.MILLISECONDS)).isFalse(); // the resets arrive
            int reset = 0;
            for (javax.net.ssl.SSLSocket c : refused) {
                try {
                    RawTlsClient.transport(c).getOutputStream().write(new byte[16 * 1024]);
                } catch (IOException e) {
                    reset++;
                }
            }
            assertThat(reset).as("connections closed at once instead of lingering").isGreaterThanOrEqualTo(n - 2);
        } finally {
            for (javax.net.ssl.SSLSocket c : refused) {
                c.close();
            }
        }
    }
}

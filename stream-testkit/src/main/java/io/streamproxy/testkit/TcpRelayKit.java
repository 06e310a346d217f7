package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamproxy.Destination;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Relaying over TCP: bytes both ways, 64 MiB each way intact, bytes sent in the same write as the header, a megabyte
 * sent behind the header while the dial waits (on Linux, where a full accept queue holds the dial back), a hundred
 * concurrent sessions that each get their own data, an IPv6 server and destination, and a client that resumes its
 * TLS session on its next tunnel.
 */
public abstract class TcpRelayKit extends TcpKitBase {
    @Test
    public void echo_roundTripsBytes() throws Exception {
        StreamServer server = startServer();
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            byte[] msg = "hello through the tunnel".getBytes(StandardCharsets.UTF_8);
            t.output().write(msg);
            t.output().flush();
            assertThat(t.input().readNBytes(msg.length)).isEqualTo(msg);
            t.shutdownOutput();
            assertThat(t.input().read()).isEqualTo(-1);
        }
        RecordingListener.Closed closed = events.awaitClosed(WAIT);
        assertThat(closed.session().destination()).isEqualTo(Destination.of(echo.host(), echo.port()));
        assertThat(closed.bytesToDestination()).isEqualTo(24);
        assertThat(closed.bytesFromDestination()).isEqualTo(24);
    }

    @Test
    public void ourClient_resumesItsSession_onTheNextTunnel() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        for (int i = 0; i < 3; i++) {
            try (TcpTunnel t = open(client, echo.host(), echo.port())) {
                t.output().write(i);
                t.output().flush();
                assertThat(t.input().read()).as("echo on tunnel %d", i).isEqualTo(i);
            }
        }
        assertThat(events.awaitHandshake(WAIT)).as("the first tunnel makes a full handshake").isFalse();
        assertThat(events.awaitHandshake(WAIT)).as("the second tunnel of one client resumes a session").isTrue();
        assertThat(events.awaitHandshake(WAIT)).as("the third tunnel of one client resumes a session").isTrue();
    }

    @Test
    public void bulk64MiB_eachWay_arrivesIntact() throws Exception {
        assumeTrue(sendsAfterPeerCloseNotify(),
                "the test ends the upload with a half-close while the echo still flows back");
        StreamServer server = startServer();
        long size = 64L << 20;
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            EchoCheck.roundTrip(t, size, 42, WAIT);
        }
        RecordingListener.Closed closed = events.awaitClosed(WAIT);
        assertThat(closed.bytesToDestination()).isEqualTo(size);
        assertThat(closed.bytesFromDestination()).isEqualTo(size);
    }

    @Test
    public void dataInSameWriteAsHeader_reachesDestination() throws Exception {
        StreamServer server = startServer();
        byte[] payload = "pipelined right behind the header".getBytes(StandardCharsets.US_ASCII);
        byte[] header = WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0);
        byte[] both = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, both, header.length, payload.length);
        String lost = "bytes pipelined behind the header (written in the same write as the 275 header bytes) did"
                + " not reach the destination and come back: the server must relay what it read past the header";
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(both);
            s.getOutputStream().flush();
            // the echo of a few bytes on loopback takes milliseconds: 5 s is a bound on a failure, not a wait
            s.setSoTimeout(5000);
            byte[] echoed;
            try {
                echoed = s.getInputStream().readNBytes(payload.length);
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError(lost, e);
            }
            assertThat(new String(echoed, StandardCharsets.US_ASCII)).as(lost)
                    .isEqualTo(new String(payload, StandardCharsets.US_ASCII));
        }
    }

    /**
     * A client that writes a megabyte right behind its header while the server is still dialling (the destination's
     * accept queue is full, so its SYN goes unanswered until the queue drains) gets every byte to the destination,
     * in order: a server that holds what it reads while dialling, or stops reading, must hand it all over and
     * resume reading once the relay is in place.
     */
    @Test
    public void megabyteBehindHeader_whileDialIsSlow_arrivesWhole() throws Exception {
        // the SYN the full queue dropped is sent again after a second (Linux's initial retransmission timeout)
        StreamServer server = startServer(b -> b.dialTimeout(Duration.ofSeconds(10)));
        byte[] payload = new byte[1 << 20];
        new Random(7).nextBytes(payload);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<java.net.Socket> queued = new ArrayList<>();
        // backlog 1: Linux queues two connections, then drops SYNs until one is accepted
        try (java.net.ServerSocket slow = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
             SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                     new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            for (int i = 0; i < 2; i++) {
                java.net.Socket q = new java.net.Socket();
                q.connect(slow.getLocalSocketAddress(), 5000);
                queued.add(q);
            }
            long overflowsBefore = listenOverflows();
            byte[] header = WireHeaders.valid("127.0.0.1", Integer.toString(slow.getLocalPort()), 0);
            Future<?> written = pool.submit(() -> {
                s.getOutputStream().write(header);
                s.getOutputStream().write(payload);
                s.getOutputStream().flush();
                return null;
            });
            // the server's dial has begun once the kernel dropped its SYN on the full queue
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (listenOverflows() == overflowsBefore) {
                assertThat(System.nanoTime()).as("the server dialled the destination within %s", WAIT)
                        .isLessThan(deadline);
                try {
                    written.get(10, TimeUnit.MILLISECONDS); // a bounded wait for the writer, to poll the counter
                } catch (java.util.concurrent.TimeoutException e) {
                    // still writing: the server holds what it read, or stopped reading, while it dials
                }
            }
            slow.setSoTimeout((int) WAIT.toMillis());
            for (int i = 0; i < 2; i++) {
                slow.accept().close(); // drain the queue: the server's next SYN is answered
            }
            Future<byte[]> received = pool.submit(() -> {
                while (true) {
                    try (java.net.Socket d = slow.accept()) {
                        d.setSoTimeout((int) WAIT.toMillis());
                        byte[] got = new byte[payload.length];
                        int n = 0;
                        try {
                            for (int r; n < got.length && (r = d.getInputStream().read(got, n, got.length - n)) > 0;) {
                                n += r;
                            }
                        } catch (java.net.SocketTimeoutException stalled) {
                            // nothing more came: what arrived is the answer
                        }
                        if (n > 0) {
                            return Arrays.copyOf(got, n);
                        }
                    }
                }
            });
            byte[] got = received.get(2 * WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(got.length).as("bytes of the megabyte written behind the header during a slow dial that "
                    + "reached the destination (the server must relay all it read and read on once relaying)")
                    .isEqualTo(payload.length);
            written.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(Arrays.equals(got, payload)).as("the megabyte reached the destination in order").isTrue();
        } finally {
            for (java.net.Socket q : queued) {
                q.close();
            }
            pool.shutdownNow();
        }
    }

    /** Linux's count of SYNs dropped on a full accept queue (TcpExt ListenOverflows); the case needs it. */
    private static long listenOverflows() throws java.io.IOException {
        java.nio.file.Path netstat = java.nio.file.Path.of("/proc/net/netstat");
        assumeTrue(java.nio.file.Files.isReadable(netstat), "needs Linux's /proc/net/netstat to see a dropped SYN");
        List<String> lines = java.nio.file.Files.readAllLines(netstat);
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (lines.get(i).startsWith("TcpExt:") && lines.get(i + 1).startsWith("TcpExt:")) {
                List<String> names = Arrays.asList(lines.get(i).split(" "));
                int at = names.indexOf("ListenOverflows");
                assumeTrue(at > 0, "needs Linux's ListenOverflows counter");
                return Long.parseLong(lines.get(i + 1).split(" ")[at]);
            }
        }
        assumeTrue(false, "needs Linux's TcpExt counters");
        return 0;
    }

    /**
     * A client that sends the header, its data and its half-close (close_notify) in one flight, before the server
     * has even dialled, still gets the destination's whole reply: the end of its upload must not end the session.
     */
    @Test
    public void headerDataAndHalfCloseInOneFlight_replyStillComesBack() throws Exception {
        assumeHalfClose();
        StreamServer server = startServer();
        byte[] payload = "request and half-close in one flight".getBytes(StandardCharsets.US_ASCII);
        byte[] header = WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0);
        byte[] both = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, both, header.length, payload.length);
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, new String[] {"TLSv1.3"}, WAIT)) {
            s.getOutputStream().write(both);
            s.getOutputStream().flush();
            s.shutdownOutput();
            s.setSoTimeout(5000);
            byte[] echoed;
            try {
                echoed = s.getInputStream().readAllBytes();
            } catch (java.io.IOException e) {
                throw new AssertionError("the reply to a client that sent header, data and close_notify at once "
                        + "was cut (" + e + "): its half-close must end only its own direction", e);
            }
            assertThat(new String(echoed, StandardCharsets.US_ASCII)).as("the reply to a client that sent header, "
                    + "data and close_notify at once, then end of stream: its half-close must end only its own "
                    + "direction").isEqualTo(new String(payload, StandardCharsets.US_ASCII));
        }
    }

    /**
     * {@link TcpTunnel#abort()} while another thread waits in a read: the destination sees a reset (never a FIN that
     * would make a cut-off upload look complete), the waiting read fails rather than ending the stream cleanly, and a
     * read after that fails at once rather than waiting.
     */
    @Test
    public void abort_resetsTheDestination_andFailsTheReads() throws Exception {
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        TcpTunnel t = closeLater(open(client(server), dest.host(), dest.port()));
        t.output().write(1);
        t.output().flush();
        java.net.Socket d = dest.takeConnection(WAIT);
        d.setSoTimeout((int) WAIT.toMillis());
        assertThat(d.getInputStream().read()).isEqualTo(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        closeLater(pool::shutdownNow);
        java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
        Future<Integer> read = pool.submit(() -> {
            reading.countDown();
            return t.input().read();
        });
        assertThat(reading.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        t.abort();
        assertThatThrownBy(() -> read.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .as("the read that waited while the tunnel was aborted")
                .isInstanceOf(java.util.concurrent.ExecutionException.class)
                .hasCauseInstanceOf(java.io.IOException.class);
        Future<Integer> later = pool.submit(() -> t.input().read());
        assertThatThrownBy(() -> later.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .as("a read of the aborted tunnel").isInstanceOf(java.util.concurrent.ExecutionException.class)
                .hasCauseInstanceOf(java.io.IOException.class);
        assertThatThrownBy(() -> d.getInputStream().read())
                .as("what the destination reads after the client aborted its tunnel: a reset, not an end of stream")
                .isInstanceOf(java.net.SocketException.class);
    }

    /** A read of a closed tunnel returns at once (end of stream or an IOException): it never waits for bytes. */
    @Test
    public void readAfterClose_returnsAtOnce() throws Exception {
        StreamServer server = startServer();
        TcpTunnel t = open(client(server), echo.host(), echo.port());
        t.output().write(1);
        t.output().flush();
        assertThat(t.input().read()).isEqualTo(1);
        t.close();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        closeLater(pool::shutdownNow);
        Future<Integer> read = pool.submit(() -> {
            try {
                return t.input().read();
            } catch (java.io.IOException e) {
                return -2; // failing is an answer too
            }
        });
        try {
            assertThat(read.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).as("a read of a closed tunnel").isNegative();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("a read of a closed tunnel still waited after " + WAIT, e);
        }
    }

    @Test
    public void hundredConcurrentSessions_eachGetsItsOwnData() throws Exception {
        assumeTrue(sendsAfterPeerCloseNotify(),
                "each session ends its upload with a half-close while the echo still flows back");
        // not a timeout case: a hundred handshakes at once on a loaded machine can outlast the kit's short deadline
        StreamServer server = startServer(b -> b.headerTimeout(Duration.ofSeconds(15)));
        StreamClient client = client(server);
        ExecutorService pool = Executors.newFixedThreadPool(100);
        closeLater(pool::shutdownNow);
        List<Callable<Boolean>> jobs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int id = i;
            jobs.add(() -> {
                byte[] data = new byte[64 * 1024 + id];
                new Random(id).nextBytes(data);
                try (TcpTunnel t = open(client, echo.host(), echo.port())) {
                    t.output().write(data);
                    t.shutdownOutput();
                    return Arrays.equals(t.input().readAllBytes(), data);
                }
            });
        }
        List<Future<Boolean>> results = pool.invokeAll(jobs, WAIT.toSeconds() * 3, TimeUnit.SECONDS);
        for (Future<Boolean> f : results) {
            try {
                assertThat(f.get()).as("a session got back exactly its own data").isTrue();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new AssertionError("a session failed; the server's refusals: " + events.refusals(), e);
            }
        }
        assertThat(echo.connectionCount()).isEqualTo(100);
    }

    @Test
    public void ipv6Loopback_serverRelaysToIpv6Destination() throws Exception {
        assumeTrue(sendsAfterPeerCloseNotify(),
                "the test ends the upload with a half-close while the echo still flows back");
        InetAddress v6 = InetAddress.getByName("::1");
        TcpDestination dest6;
        try {
            dest6 = closeLater(TcpDestination.echo(v6));
        } catch (RuntimeException e) {
            assumeTrue(false, "no IPv6 loopback here: " + e);
            return;
        }
        StreamServer server = startServer(b -> b.tcp(new InetSocketAddress(v6, 0)));
        try (TcpTunnel t = open(client(server), "::1", dest6.port())) {
            t.output().write("v6".getBytes(StandardCharsets.US_ASCII));
            t.shutdownOutput();
            assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("v6");
        }
    }
}

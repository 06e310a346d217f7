package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Destination;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import java.io.IOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The access log: one JSON line per ended or refused session with every field, escaping, and drops counted. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AccessLogTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static final Map<Protocol, String> TRANSPORTS = Map.of(Protocol.TCP, "netty", Protocol.UDP, "bc");

    private static SessionInfo udpSession(String host) {
        return new SessionInfo(7, Protocol.UDP, new InetSocketAddress("127.0.0.1", 40000), Destination.of(host, 53),
                "CN=client,O=example", new InetSocketAddress("10.0.0.53", 53), Instant.parse("2026-12-02T10:00:00Z"));
    }

    @Test
    void endedAndRefusedSessions_areOneJsonLineEach_withEveryField(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("access.log");
        Metrics metrics = new Metrics();
        try (AccessLog log = AccessLog.open(file.toString(), TRANSPORTS, metrics)) {
            log.sessionEnded(udpSession("dns.internal"), new SessionEnd(Duration.ofMillis(1500), 100, 200, 2, 3,
                    SessionEnd.Side.CLIENT, "client sent close_notify"));
            log.sessionRefused(Protocol.TCP, new InetSocketAddress("::1", 5), RefusalReason.POLICY_DENIED,
                    "10.0.0.1:22 \"quoted\"\nforged line\u0001");
        }
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).startsWith("{\"time\":\"").endsWith("}").contains(
                "\"event\":\"session\"", "\"id\":7", "\"start\":\"2026-12-02T10:00:00Z\"", "\"duration_ms\":1500",
                "\"protocol\":\"udp\"", "\"transport\":\"bc\"", "\"client\":\"127.0.0.1:40000\"",
                "\"client_identity\":\"CN=client,O=example\"", "\"destination\":\"dns.internal:53\"",
                "\"dialled\":\"10.0.0.53:53\"", "\"bytes_to_destination\":100", "\"bytes_from_destination\":200",
                "\"datagrams_to_destination\":2", "\"datagrams_from_destination\":3", "\"ended_first\":\"client\"",
                "\"end_reason\":\"client sent close_notify\"");
        assertThat(lines.get(1)).contains("\"event\":\"refused\"", "\"protocol\":\"tcp\"", "\"transport\":\"netty\"",
                "\"client\":\"[::1]:5\"", "\"reason\":\"policy_denied\"",
                "\"detail\":\"10.0.0.1:22 \\\"quoted\\\"\\nforged line\\u0001\"").endsWith("}");
    }

    @Test
    void aRotatedFile_movedOrRemoved_isFollowedByANewFileAtThePath(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("access.log");
        Path rotated = dir.resolve("access.log.1");
        try (AccessLog log = AccessLog.open(file.toString(), TRANSPORTS, new Metrics())) {
            log.sessionRefused(Protocol.TCP, new InetSocketAddress("127.0.0.1", 1), RefusalReason.POLICY_DENIED, "a");
            assertThat(log.awaitHandled(WAIT)).isTrue();
            Files.move(file, rotated); // logrotate's default: move, and the program's next file is a new one
            log.sessionRefused(Protocol.TCP, new InetSocketAddress("127.0.0.1", 2), RefusalReason.POLICY_DENIED, "b");
            assertThat(log.awaitHandled(WAIT)).isTrue();
            assertThat(Files.readAllLines(file)).singleElement().asString().contains("\"detail\":\"b\"");
            Files.delete(file); // removed outright
            log.sessionRefused(Protocol.TCP, new InetSocketAddress("127.0.0.1", 3), RefusalReason.POLICY_DENIED, "c");
        }
        assertThat(Files.readAllLines(rotated)).singleElement().asString().contains("\"detail\":\"a\"");
        assertThat(Files.readAllLines(file)).singleElement().asString().contains("\"detail\":\"c\"");
    }

    @Test
    void aFailingWrite_dropsAndCountsItsLine_andWritingResumesWhenTheFileWorksAgain(@TempDir Path dir)
            throws Exception {
        Path full = Path.of("/dev/full"); // every write fails with ENOSPC, as on a full disk
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(full), "needs Linux's /dev/full");
        Path link = dir.resolve("access.log");
        Path real = dir.resolve("real.log");
        Files.createSymbolicLink(link, full);
        Metrics metrics = new Metrics();
        try (AccessLog log = AccessLog.open(link.toString(), TRANSPORTS, metrics)) {
            log.sessionRefused(Protocol.TCP, new InetSocketAddress("127.0.0.1", 1), RefusalReason.POLICY_DENIED, "a");
            assertThat(log.awaitHandled(WAIT)).isTrue();
            assertThat(log.dropped()).as("the failed write was counted").isEqualTo(1);
            Files.delete(link);
            Files.createSymbolicLink(link, real); // room again
            log.sessionRefused(Protocol.TCP, new InetSocketAddress("127.0.0.1", 2), RefusalReason.POLICY_DENIED, "b");
            assertThat(log.awaitHandled(WAIT)).isTrue();
            assertThat(log.dropped()).isEqualTo(1);
        }
        assertThat(Files.readAllLines(real)).singleElement().asString().contains("\"detail\":\"b\"");
    }

    @Test
    void aWriterThatFallsBehind_neverBlocksTheRelay_andDropsAreCounted() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        StringBuilder written = new StringBuilder();
        Writer stuck = new Writer() {
            @Override
            public void write(char[] c, int off, int len) throws IOException {
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                synchronized (written) {
                    written.append(c, off, len);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Metrics metrics = new Metrics();
        AccessLog log = new AccessLog(stuck, true, TRANSPORTS, metrics);
        int extra = 500;
        long start = System.nanoTime();
        for (int i = 0; i < AccessLog.CAPACITY + extra; i++) {
            log.sessionRefused(Protocol.UDP, new InetSocketAddress("127.0.0.1", 1), RefusalReason.CAPACITY, "");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("no call waited for the writer")
                .isLessThan(Duration.ofSeconds(10));
        // the writer holds at most one line; everything past the queue was dropped
        assertThat(log.dropped()).isBetween((long) extra - 1, (long) extra);
        assertThat(metrics.scrape()).contains("stream_proxy_access_log_dropped_total " + log.dropped() + ".0");
        release.countDown();
        log.close();
        synchronized (written) {
            assertThat(written.toString().lines().count()).isEqualTo(AccessLog.CAPACITY + extra - log.dropped());
        }
    }
}

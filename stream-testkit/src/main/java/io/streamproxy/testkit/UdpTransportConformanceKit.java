package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
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
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.event.Level;

/**
 * The conformance kit for UDP-over-DTLS transports. A transport's test extends it and names its provider; the kit
 * checks what PROTOCOL.md asks of every transport: datagram boundaries and sizes up to 16384 bytes both ways,
 * isolation of concurrent sessions, health probes, header validation, certificate refusals within the timeout,
 * reaping of half-open, header-less and idle sessions, capped handshakes, ICMP from the destination, and a close
 * that frees every socket and thread. Outside DTLS peers (openssl, Scandium) send headers built without our codec.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class UdpTransportConformanceKit extends ConformanceKitBase {
    /** The header timeout the kit's servers use. */
    protected static final Duration HEADER_TIMEOUT = Duration.ofMillis(1500);
    /** The bound on any single wait. */
    protected static final Duration WAIT = Duration.ofSeconds(10);

    /** An echo destination. */
    protected UdpDestination echo;

    @BeforeEach
    void startDestination() {
        echo = closeLater(UdpDestination.echo());
    }

    /**
     * Starts a UDP server of the transport on 127.0.0.1:0.
     *
     * @param customize changes to the options
     * @return the server
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer(UnaryOperator<StreamServerOptions.Builder> customize) throws IOException {
        StreamServerOptions.Builder b = serverOptions(HEADER_TIMEOUT)
                .udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return closeLater(StreamServer.start(customize.apply(b).build()));
    }

    /**
     * Starts a server with the kit's defaults.
     *
     * @return the server
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer() throws IOException {
        return startServer(b -> b);
    }

    /**
     * Creates a client of the transport.
     *
     * @param server      the server
     * @param credentials the client's credentials
     * @return the client
     */
    protected StreamClient client(StreamServer server, TlsCredentials credentials) {
        return closeLater(StreamClient.create(clientOptions(server.udpAddress(), credentials)
                .handshakeTimeout(Duration.ofSeconds(5)).build()));
    }

    /**
     * Creates a client with good credentials.
     *
     * @param server the server
     * @return the client
     */
    protected StreamClient client(StreamServer server) {
        return client(server, pki.clientCredentials());
    }

    private static byte[] receive(DatagramTunnel t) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
        int n = t.receive(buf, WAIT);
        if (n < 0) {
            return null;
        }
        return Arrays.copyOf(buf.array(), n);
    }

    @Test
    void echo_roundTripsDatagrams() throws Exception {
        StreamServer server = startServer();
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            for (String s : new String[] {"one", "two", "three"}) {
                t.send(ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
                assertThat(new String(receive(t), StandardCharsets.UTF_8)).isEqualTo(s);
            }
        }
        RecordingListener.Closed closed = events.awaitClosed(WAIT);
        assertThat(closed.session().destination()).isEqualTo(Destination.of(echo.host(), echo.port()));
        assertThat(closed.bytesToDestination()).isEqualTo(11);
        assertThat(closed.bytesFromDestination()).isEqualTo(11);
    }

    @Test
    void tenThousandDatagrams_ofRandomSizes_keepBoundariesAndContent() throws Exception {
        StreamServer server = startServer();
        Random random = new Random(1234);
        ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            for (int i = 0; i < 10_000; i++) {
                byte[] data = new byte[1 + random.nextInt(DatagramTunnel.MAX_DATAGRAM)];
                random.nextBytes(data);
                t.send(ByteBuffer.wrap(data));
                in.clear();
                int n = t.receive(in, WAIT);
                assertThat(n).as("datagram %d", i).isEqualTo(data.length);
                assertThat(Arrays.equals(in.array(), 0, n, data, 0, data.length)).as("datagram %d", i).isTrue();
            }
        }
        assertThat(echo.datagramCount()).isEqualTo(10_000);
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {1, 1200, 1201, 8000, 16384})
    void datagramSizes_passIntactBothWays_asOneRecordEach(int size) throws Exception {
        UdpDestination dest = closeLater(UdpDestination.scripted());
        StreamServer server = startServer();
        byte[] up = new byte[size];
        new Random(size).nextBytes(up);
        try (DatagramTunnel t = client(server).openUdp(dest.host(), dest.port())) {
            t.send(ByteBuffer.wrap(up));
            UdpDestination.Received r = dest.take(WAIT);
            assertThat(r.data()).isEqualTo(up);
            byte[] down = new byte[size];
            new Random(-size).nextBytes(down);
            dest.send(r.source(), down);
            assertThat(receive(t)).isEqualTo(down);
        }
    }

    @Test
    void oversizeDestinationDatagram_isDropped_notTruncated() throws Exception {
        UdpDestination dest = closeLater(UdpDestination.scripted());
        StreamServer server = startServer();
        try (DatagramTunnel t = client(server).openUdp(dest.host(), dest.port())) {
            t.send(ByteBuffer.wrap(new byte[] {1}));
            UdpDestination.Received r = dest.take(WAIT);
            dest.send(r.source(), new byte[DatagramTunnel.MAX_DATAGRAM + 1]);
            dest.send(r.source(), "after".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(receive(t), StandardCharsets.US_ASCII)).isEqualTo("after");
        }
        assertThat(events.awaitDrop(WAIT)).startsWith((DatagramTunnel.MAX_DATAGRAM + 1) + " bytes");
    }

    @Test
    void firstClientHello_isAnsweredWithHelloVerifyRequest() throws Exception {
        StreamServer server = startServer();
        javax.net.ssl.SSLEngine engine = pki.clientCredentials().newSslContext("DTLSv1.2").createSSLEngine();
        engine.setUseClientMode(true);
        engine.beginHandshake();
        ByteBuffer hello = ByteBuffer.allocate(65536);
        engine.wrap(ByteBuffer.allocate(0), hello);
        hello.flip();
        try (DatagramChannel raw = DatagramChannel.open()) {
            raw.connect(server.udpAddress());
            raw.write(hello);
            raw.socket().setSoTimeout((int) WAIT.toMillis());
            java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
            raw.socket().receive(p);
            byte[] reply = Arrays.copyOf(p.getData(), p.getLength());
            assertThat(reply[0]).as("record type handshake").isEqualTo((byte) 22);
            assertThat(reply[13]).as("handshake type hello_verify_request").isEqualTo((byte) 3);
            assertThat(reply.length).isLessThan(200);
        }
    }

    @Test
    void clientRefusesToSendOversizeDatagram() throws Exception {
        StreamServer server = startServer();
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            assertThatThrownBy(() -> t.send(ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM + 1)))
                    .isInstanceOf(IOException.class).hasMessageContaining("16384");
            t.send(ByteBuffer.wrap(new byte[] {9}));
            assertThat(receive(t)).containsExactly(9);
        }
    }

    @Test
    void fiftyConcurrentSessions_neverSeeEachOthersDatagrams() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        ExecutorService pool = Executors.newFixedThreadPool(50);
        closeLater(pool::shutdownNow);
        List<Callable<Boolean>> jobs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int id = i;
            jobs.add(() -> {
                try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
                    ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
                    for (int k = 0; k < 100; k++) {
                        byte[] data = (id + ":" + k).getBytes(StandardCharsets.US_ASCII);
                        t.send(ByteBuffer.wrap(data));
                        in.clear();
                        int n = t.receive(in, WAIT);
                        if (!Arrays.equals(in.array(), 0, n, data, 0, data.length)) {
                            return false;
                        }
                    }
                    return true;
                }
            });
        }
        for (Future<Boolean> f : pool.invokeAll(jobs, 60, TimeUnit.SECONDS)) {
            assertThat(f.get()).isTrue();
        }
        assertThat(echo.sourceCount()).isEqualTo(50);
    }

    @Test
    void healthProbe_endsQuietly_withoutDestinationSocket() throws Exception {
        StreamServer server = startServer();
        assertThat(RecordedLogs.isActive()).isTrue();
        int mark = RecordedLogs.mark();
        assertThat(client(server).probeUdp(Duration.ofSeconds(5))).isPositive();
        events.awaitProbe(WAIT);
        assertThat(events.refusedCount()).isZero();
        assertThat(events.openedCount()).isZero();
        assertThat(echo.datagramCount()).isZero();
        assertThat(RecordedLogs.since(mark, Level.WARN)).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"shortRecord", "badChecksum", "portLengthSix", "badVersion"})
    void invalidHeader_endsSession_andSendsNothing(String variant) throws Exception {
        StreamServer server = startServer();
        byte[] host = echo.host().getBytes(StandardCharsets.US_ASCII);
        byte[] port = Integer.toString(echo.port()).getBytes(StandardCharsets.US_ASCII);
        byte[] first;
        switch (variant) {
            case "shortRecord":
                first = Arrays.copyOf(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0), 274);
                break;
            case "badChecksum":
                first = WireHeaders.build(WireHeaders.version(), host, port.length, port, 0, true);
                break;
            case "portLengthSix":
                first = WireHeaders.build(WireHeaders.version(), host, 6, port, 0, false);
                break;
            default:
                first = WireHeaders.build("1.0.0\0\0\0".getBytes(StandardCharsets.US_ASCII), host, port.length,
                        port, 0, false);
        }
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            c.handshake(WAIT);
            c.send(first);
            c.send("payload".getBytes(StandardCharsets.US_ASCII));
            assertThat(c.receive(WAIT)).as("the server ends the session").isNull();
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.INVALID_HEADER);
        assertThat(echo.datagramCount()).isZero();
    }

    @Test
    void noClientCertificate_failsHandshakeWithinTimeout() throws Exception {
        StreamServer server = startServer();
        long start = System.nanoTime();
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), null, pki.clientCredentials())) {
            assertThatThrownBy(() -> c.handshake(WAIT)).isInstanceOf(IOException.class);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WAIT);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.datagramCount()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"foreignCa", "expired"})
    void untrustedClientCertificate_failsWithClearException_andProbeSaysSo(String variant) throws Exception {
        StreamServer server = startServer();
        TlsCredentials bad = variant.equals("expired") ? pki.expiredClientCredentials()
                : pki.foreignClientCredentials();
        StreamClient client = client(server, bad);
        long start = System.nanoTime();
        assertThatThrownBy(() -> client.openUdp(echo.host(), echo.port())).isInstanceOf(IOException.class)
                .satisfies(e -> assertThat(e.getMessage()).isNotBlank());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThatThrownBy(() -> client.probeUdp(Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .isIn(HealthProbeException.Failure.CERTIFICATE_REFUSED,
                                HealthProbeException.Failure.HANDSHAKE_FAILED));
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.datagramCount()).isZero();
    }

    @Test
    void probeOfSilentServer_failsWithTimeout() throws Exception {
        try (DatagramChannel silent = DatagramChannel.open()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            StreamClient client = closeLater(StreamClient.create(StreamClientOptions
                    .builder((InetSocketAddress) silent.getLocalAddress(), pki.clientCredentials())
                    .transport(transport()).build()));
            long start = System.nanoTime();
            assertThatThrownBy(() -> client.probeUdp(Duration.ofMillis(1500)))
                    .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                            .isEqualTo(HealthProbeException.Failure.TIMEOUT));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void clientThatStopsAfterTheCookie_isReapedAfterHeaderTimeout() throws Exception {
        StreamServer server = startServer();
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            long start = System.nanoTime();
            assertThat(c.sendClientHelloWithCookieOnly(WAIT)).as("the server answers the cookie").isTrue();
            RecordingListener.Refusal r = events.awaitRefusal(WAIT);
            assertThat(r.reason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(
                    HEADER_TIMEOUT.minusMillis(100)).isLessThan(HEADER_TIMEOUT.plusSeconds(3));
        }
    }

    @Test
    void handshakeWithoutHeader_isReapedAfterHeaderTimeout() throws Exception {
        StreamServer server = startServer();
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            long start = System.nanoTime();
            c.handshake(WAIT);
            assertThat(c.receive(WAIT)).as("the server ends the session").isNull();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(
                    HEADER_TIMEOUT.minusMillis(100));
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
    }

    @Test
    void idleSession_isReaped_andClientSeesTheEnd() throws Exception {
        Duration idle = Duration.ofMillis(1200);
        StreamServer server = startServer(b -> b.udpIdleTimeout(idle));
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            t.send(ByteBuffer.wrap(new byte[] {1}));
            assertThat(receive(t)).containsExactly(1);
            long start = System.nanoTime();
            assertThat(receive(t)).as("close_notify after the idle timeout").isNull();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(idle.minusMillis(200));
        }
        events.awaitClosed(WAIT);
        assertThat(server.activeSessions(Protocol.UDP)).isZero();
    }

    @Test
    void trafficKeepsSessionAlive_pastTheIdleTimeout() throws Exception {
        Duration idle = Duration.ofMillis(800);
        StreamServer server = startServer(b -> b.udpIdleTimeout(idle));
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            long end = System.nanoTime() + idle.multipliedBy(3).toNanos();
            int i = 0;
            while (System.nanoTime() < end) {
                t.send(ByteBuffer.wrap(new byte[] {(byte) i}));
                assertThat(receive(t)).containsExactly((byte) i);
                i++;
                ByteBuffer none = ByteBuffer.allocate(16);
                assertThatThrownBy(() -> t.receive(none, Duration.ofMillis(100)))
                        .isInstanceOf(SocketTimeoutException.class);
            }
            assertThat(events.openedCount()).isEqualTo(1);
            assertThat(server.activeSessions(Protocol.UDP)).isEqualTo(1);
        }
    }

    @Test
    void clientHelloFlood_isCappedAtMaxHandshakes() throws Exception {
        // a header timeout longer than the flood, so that no half-open handshake is reaped while it runs
        StreamServer server = startServer(b -> b.maxHandshakes(4).headerTimeout(Duration.ofSeconds(30)));
        List<RawDtlsClient> flood = new ArrayList<>();
        long before = ResourceSnapshot.openFileDescriptors();
        int committed = 0;
        try {
            for (int i = 0; i < 20; i++) {
                RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null);
                flood.add(c);
                if (c.sendClientHelloWithCookieOnly(Duration.ofMillis(300))) {
                    committed++; // the server went past the cookie and holds handshake state for it
                }
            }
        } finally {
            for (RawDtlsClient c : flood) {
                c.close();
            }
        }
        assertThat(committed).isEqualTo(4);
        assertThat(ResourceSnapshot.openFileDescriptors()).as("no socket per flooding source")
                .isLessThanOrEqualTo(before + 4);
    }

    @Test
    void destinationPortUnreachable_keepsServerAndSession_untilDestinationAnswers() throws Exception {
        DatagramChannel placeholder = DatagramChannel.open();
        placeholder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int port = ((InetSocketAddress) placeholder.getLocalAddress()).getPort();
        placeholder.close();
        StreamServer server = startServer();
        try (DatagramTunnel t = client(server).openUdp("127.0.0.1", port)) {
            t.send(ByteBuffer.wrap("lost".getBytes(StandardCharsets.US_ASCII)));
            t.send(ByteBuffer.wrap("lost again".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer none = ByteBuffer.allocate(64);
            assertThatThrownBy(() -> t.receive(none, Duration.ofMillis(300)))
                    .isInstanceOf(SocketTimeoutException.class);
            try (DatagramChannel late = DatagramChannel.open()) {
                late.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                t.send(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
                ByteBuffer got = ByteBuffer.allocate(64);
                late.socket().setSoTimeout((int) WAIT.toMillis());
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[64], 64);
                late.socket().receive(p);
                assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII)).isEqualTo("hello");
                late.send(ByteBuffer.wrap("back".getBytes(StandardCharsets.US_ASCII)), p.getSocketAddress());
                assertThat(new String(receive(t), StandardCharsets.US_ASCII)).isEqualTo("back");
            }
        }
        // the server still serves others
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            t.send(ByteBuffer.wrap(new byte[] {3}));
            assertThat(receive(t)).containsExactly(3);
        }
    }

    @Test
    void opensslDtlsClient_withOnlyTheGoCipherSuite_sendsItsOwnHeaderRecord_andGetsEchoes() throws Exception {
        StreamServer server = startServer();
        try (PeerProcess openssl = OutsidePeers.opensslDtls(server.udpAddress(), pki)) {
            openssl.write(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            assertThat(events.awaitOpened(WAIT).destination())
                    .as("openssl stderr: %s", openssl.stderr()).isEqualTo(Destination.of(echo.host(), echo.port()));
            for (String line : new String[] {"first datagram\n", "second, a little longer datagram\n"}) {
                byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
                openssl.write(bytes);
                assertThat(openssl.read(bytes.length, WAIT)).isEqualTo(bytes);
            }
        }
        assertThat(echo.datagramCount()).isEqualTo(2);
    }

    @Test
    void scandiumClient_packingWholeFlights_getsEchoes() throws Exception {
        StreamServer server = startServer();
        try (ScandiumDtlsClient scandium = ScandiumDtlsClient.connect(server.udpAddress(), pki.client().key(),
                List.of(pki.client().certificate()), pki.caCertificate(), WAIT)) {
            scandium.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            for (int size : new int[] {1, 1500, 16384}) {
                byte[] data = new byte[size];
                new Random(size).nextBytes(data);
                scandium.send(data);
                assertThat(scandium.receive(WAIT)).isEqualTo(data);
            }
        }
        assertThat(events.awaitOpened(WAIT).destination()).isEqualTo(Destination.of(echo.host(), echo.port()));
    }

    @Test
    void scandiumClient_withForeignCertificate_isRefused() throws Exception {
        StreamServer server = startServer();
        try (ScandiumDtlsClient scandium = ScandiumDtlsClient.connect(server.udpAddress(),
                pki.foreignClient().key(), List.of(pki.foreignClient().certificate()), pki.caCertificate(), WAIT)) {
            assertThatThrownBy(() -> scandium.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()),
                    0))).isInstanceOf(IOException.class);
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.datagramCount()).isZero();
    }

    @Test
    void serverClose_endsEverySession_andFreesSocketsAndThreads() throws Exception {
        try (StreamServer warm = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                .transport(transport()).udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).build());
             StreamClient c = StreamClient.create(StreamClientOptions.builder(warm.udpAddress(),
                     pki.clientCredentials()).transport(transport()).build());
             DatagramTunnel t = c.openUdp(echo.host(), echo.port())) {
            t.send(ByteBuffer.wrap(new byte[] {1}));
            receive(t);
        }
        ResourceSnapshot before = ResourceSnapshot.take();
        UdpDestination dest = UdpDestination.echo();
        StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                .transport(transport()).udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .listener(events).build());
        StreamClient client = StreamClient.create(StreamClientOptions.builder(server.udpAddress(),
                pki.clientCredentials()).transport(transport()).build());
        List<DatagramTunnel> tunnels = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            DatagramTunnel t = client.openUdp(dest.host(), dest.port());
            t.send(ByteBuffer.wrap(new byte[] {(byte) i}));
            assertThat(receive(t)).containsExactly((byte) i);
            tunnels.add(t);
        }
        RawDtlsClient halfOpen = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null);
        assertThat(halfOpen.sendClientHelloWithCookieOnly(WAIT)).isTrue();
        assertThat(server.activeSessions(Protocol.UDP)).isEqualTo(5);

        server.close();

        for (DatagramTunnel t : tunnels) {
            assertThat(receive(t)).as("close_notify from the closing server").isNull();
            t.close();
        }
        for (int i = 0; i < 5; i++) {
            events.awaitClosed(WAIT);
        }
        halfOpen.close();
        client.close();
        dest.close();
        List<Thread> leftover = before.threadsStartedSince(Duration.ofSeconds(10));
        assertThat(leftover).as("threads left running: %s", ResourceSnapshot.names(leftover)).isEmpty();
        if (before.fileDescriptors() >= 0) {
            assertThat(ResourceSnapshot.openFileDescriptors()).isLessThanOrEqualTo(before.fileDescriptors());
        }
    }
}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
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
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.event.Level;

/**
 * The conformance kit for TCP-over-TLS transports. A transport's test extends it and names its provider with
 * {@link #transport()}; the kit then starts servers and clients of that transport through the public API and checks
 * what PROTOCOL.md asks of every transport: relaying, half-close each way, bytes behind the header, concurrency,
 * header validation, health probes, certificate and ALPN refusals, dial and header timeouts, and a close that leaves
 * no thread or socket behind. Outside peers ({@code openssl}, Python) build their own headers. Every wait is bounded.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class TcpTransportConformanceKit extends ConformanceKitBase {
    /** The header timeout the kit's servers use, short so that timeout cases run fast. */
    protected static final Duration HEADER_TIMEOUT = Duration.ofMillis(1500);
    /** The dial timeout the kit's servers use. */
    protected static final Duration DIAL_TIMEOUT = Duration.ofMillis(1500);
    /** The bound on any single wait for an event. */
    protected static final Duration WAIT = Duration.ofSeconds(20);

    /** An echo destination. */
    protected TcpDestination echo;

    /**
     * Tells whether the transport's server accepts TLS 1.2 as well as TLS 1.3; the kit's Python peer then checks
     * an echo on both.
     *
     * @return true by default
     */
    protected boolean serverSupportsTls12() {
        return true;
    }

    /**
     * Tells whether half-close works on TLS 1.2 connections too. TLS 1.2 (RFC 5246) makes close_notify a full
     * close, and the JDK's TLS stack enforces that, so a transport on the JDK's TLS returns false and documents
     * that half-close needs TLS 1.3 (which every current peer, the Go agent included, negotiates).
     *
     * @return true by default
     */
    protected boolean halfCloseOnTls12() {
        return true;
    }

    /**
     * Tells whether a side that received close_notify can keep sending (the half-close a client starts and the
     * destination answers). True by default; Netty's OpenSSL engine closes both directions on close_notify.
     *
     * @return true by default
     */
    protected boolean sendsAfterPeerCloseNotify() {
        return true;
    }

    @BeforeEach
    void startDestination() {
        echo = closeLater(TcpDestination.echo());
    }

    /**
     * Starts a server of the transport on 127.0.0.1:0 with the kit's timeouts.
     *
     * @param customize changes to the options
     * @return the server, closed after the test
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer(UnaryOperator<StreamServerOptions.Builder> customize) throws IOException {
        StreamServerOptions.Builder b = serverOptions(HEADER_TIMEOUT)
                .tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .dialTimeout(DIAL_TIMEOUT);
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
     * Creates a client of the transport for a server.
     *
     * @param server      the server
     * @param credentials the client's credentials
     * @return the client, closed after the test
     */
    protected StreamClient client(StreamServer server, TlsCredentials credentials) {
        return closeLater(StreamClient.create(clientOptions(server.tcpAddress(), credentials)
                .handshakeTimeout(Duration.ofSeconds(10)).build()));
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

    @Test
    void echo_roundTripsBytes() throws Exception {
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
    void bulk64MiB_eachWay_arrivesIntact() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(sendsAfterPeerCloseNotify(),
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
    void dataInSameWriteAsHeader_reachesDestination() throws Exception {
        StreamServer server = startServer();
        byte[] payload = "pipelined right behind the header".getBytes(StandardCharsets.US_ASCII);
        byte[] header = WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0);
        byte[] both = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, both, header.length, payload.length);
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(both);
            s.getOutputStream().flush();
            assertThat(s.getInputStream().readNBytes(payload.length)).isEqualTo(payload);
        }
    }

    @Test
    void halfClose_reachesDestination_whileReplyFlowsBack() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(sendsAfterPeerCloseNotify(),
                "this configuration closes both directions when it receives close_notify");
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        try (TcpTunnel t = open(client(server), dest.host(), dest.port())) {
            t.output().write("request".getBytes(StandardCharsets.US_ASCII));
            t.shutdownOutput();
            try (Socket d = dest.takeConnection(WAIT)) {
                d.setSoTimeout((int) WAIT.toMillis());
                assertThat(d.getInputStream().readAllBytes()).asString(StandardCharsets.US_ASCII)
                        .isEqualTo("request");
                d.getOutputStream().write("reply after your EOF".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("reply after your EOF");
            }
        }
        events.awaitClosed(WAIT);
    }

    @Test
    void halfClose_fromDestination_reachesClient_whileClientKeepsSending() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(sendsAfterPeerCloseNotify(),
                "this configuration closes both directions when it receives close_notify");
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        try (TcpTunnel t = open(client(server), dest.host(), dest.port())) {
            t.output().write('x');
            t.output().flush();
            try (Socket d = dest.takeConnection(WAIT)) {
                d.setSoTimeout((int) WAIT.toMillis());
                assertThat(d.getInputStream().read()).isEqualTo('x');
                d.getOutputStream().write("banner".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("banner");
                t.output().write("still sending".getBytes(StandardCharsets.US_ASCII));
                t.output().flush();
                t.shutdownOutput();
                assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("still sending");
            }
        }
        events.awaitClosed(WAIT);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void halfClose_worksBothWays_onEachTlsVersion(String version) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(sendsAfterPeerCloseNotify(),
                "this configuration closes both directions when it receives close_notify");
        org.junit.jupiter.api.Assumptions.assumeTrue(!version.equals("TLSv1.2") || halfCloseOnTls12(),
                "this transport documents that TLS 1.2 close_notify is a full close, so half-close needs TLS 1.3");
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, new String[] {version}, WAIT)) {
            assertThat(s.getSession().getProtocol()).isEqualTo(version);
            s.getOutputStream().write(WireHeaders.valid(dest.host(), Integer.toString(dest.port()), 0));
            s.getOutputStream().write("up".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            try (Socket d = dest.takeConnection(WAIT)) {
                d.setSoTimeout((int) WAIT.toMillis());
                d.getOutputStream().write("down".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("down");
                s.getOutputStream().write(" and more".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.shutdownOutput();
                assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("up and more");
            }
        }
        events.awaitClosed(WAIT);
    }

    @Test
    void hundredConcurrentSessions_eachGetsItsOwnData() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(sendsAfterPeerCloseNotify(),
                "each session ends its upload with a half-close while the echo still flows back");
        StreamServer server = startServer();
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
            assertThat(f.get()).isTrue();
        }
        assertThat(echo.connectionCount()).isEqualTo(100);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"badVersion", "badChecksum", "portLengthSix", "nonNumericPort", "portZero"})
    void invalidHeader_closesWithoutDialling(String variant) throws Exception {
        StreamServer server = startServer();
        byte[] host = echo.host().getBytes(StandardCharsets.US_ASCII);
        byte[] port = Integer.toString(echo.port()).getBytes(StandardCharsets.US_ASCII);
        byte[] header;
        RefusalReason expected = RefusalReason.INVALID_HEADER;
        switch (variant) {
            case "badVersion":
                header = WireHeaders.build("0.2.0\0\0\0".getBytes(StandardCharsets.US_ASCII), host, port.length,
                        port, 0, false);
                break;
            case "badChecksum":
                header = WireHeaders.build(WireHeaders.version(), host, port.length, port, 0, true);
                break;
            case "portLengthSix":
                header = WireHeaders.build(WireHeaders.version(), host, 6, port, 0, false);
                break;
            case "nonNumericPort":
                header = WireHeaders.valid(echo.host(), "http", 0);
                expected = RefusalReason.BAD_DESTINATION;
                break;
            default:
                header = WireHeaders.valid(echo.host(), "0", 0);
                expected = RefusalReason.BAD_DESTINATION;
        }
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(header);
            s.getOutputStream().write("data".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertClosedByServer(s.getInputStream());
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(expected);
        assertThat(echo.connectionCount()).isZero();
    }

    @Test
    void healthProbe_closesQuietly_withoutDialling_orLoggingErrors() throws Exception {
        StreamServer server = startServer();
        assertThat(RecordedLogs.isActive()).as("the kit needs -Dslf4j.provider=io.streamproxy.testkit.RecordedLogs")
                .isTrue();
        int mark = RecordedLogs.mark();
        Duration took = client(server).probeTcp(Duration.ofSeconds(10));
        assertThat(took).isPositive();
        events.awaitProbe(WAIT);
        assertThat(echo.connectionCount()).isZero();
        assertThat(events.refusedCount()).isZero();
        assertThat(RecordedLogs.since(mark, Level.WARN)).isEmpty();
    }

    @Test
    void noClientCertificate_isRefused() throws Exception {
        StreamServer server = startServer();
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), null, pki.clientCredentials(),
                    new String[] {"godoxy-agent-stream/1"}, WAIT)) {
                s.getOutputStream().write(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
                assertClosedByServer(s.getInputStream());
                throw new IOException("closed by the server after the handshake");
            }
        });
        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.connectionCount()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"foreignCa", "expired"})
    void untrustedClientCertificate_isRefused_andProbeSaysSo(String variant) throws Exception {
        StreamServer server = startServer();
        TlsCredentials bad = variant.equals("expired") ? pki.expiredClientCredentials()
                : pki.foreignClientCredentials();
        StreamClient client = client(server, bad);
        assertThatThrownBy(() -> client.probeTcp(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .isEqualTo(HealthProbeException.Failure.CERTIFICATE_REFUSED));
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        Throwable failure = catchThrowable(() -> {
            try (TcpTunnel t = open(client, echo.host(), echo.port())) {
                t.output().write('x');
                t.output().flush();
                assertClosedByServer(t.input());
                throw new IOException("closed by the server");
            }
        });
        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(echo.connectionCount()).isZero();
        assertThat(events.openedCount()).isZero();
    }

    @Test
    void serverCertificateNotMatchingServerName_isRefusedByClient() throws Exception {
        StreamServer server = startServer();
        StreamClient client = closeLater(StreamClient.create(StreamClientOptions
                .builder(server.tcpAddress(), pki.clientCredentials()).transport(transport())
                .serverName("not-the-agent.example").build()));
        assertThatThrownBy(() -> open(client, echo.host(), echo.port())).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> client.probeTcp(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .isEqualTo(HealthProbeException.Failure.CERTIFICATE_REFUSED));
        assertThat(echo.connectionCount()).isZero();
    }

    @ParameterizedTest(name = "alpn={0}")
    @ValueSource(strings = {"h2", "none"})
    void wrongAlpn_isRefused(String alpn) throws Exception {
        StreamServer server = startServer();
        String[] offered = alpn.equals("none") ? new String[0] : new String[] {alpn};
        Throwable failure = catchThrowable(() -> {
            try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null, offered,
                    WAIT)) {
                s.getOutputStream().write(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
                s.getOutputStream().flush();
                assertClosedByServer(s.getInputStream());
                throw new IOException("closed by the server after the handshake");
            }
        });
        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.connectionCount()).isZero();
    }

    @Test
    void unreachableDestination_clientSeesCloseWithinDialTimeout() throws Exception {
        UnansweredTcpPort blackhole = closeLater(new UnansweredTcpPort());
        StreamServer server = startServer();
        long start = System.nanoTime();
        try (TcpTunnel t = open(client(server), blackhole.address().getAddress().getHostAddress(),
                blackhole.address().getPort())) {
            assertClosedByServer(t.input());
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).isGreaterThanOrEqualTo(DIAL_TIMEOUT.minusMillis(100))
                .isLessThan(DIAL_TIMEOUT.plusSeconds(5));
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.DIAL_FAILED);
    }

    @Test
    void refusedDestinationPort_clientSeesCloseAtOnce() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        StreamServer server = startServer();
        try (TcpTunnel t = open(client(server), "127.0.0.1", closedPort)) {
            assertClosedByServer(t.input());
        }
        RecordingListener.Refusal r = events.awaitRefusal(WAIT);
        assertThat(r.reason()).isEqualTo(RefusalReason.DIAL_FAILED);
        assertThat(r.detail()).contains("127.0.0.1:" + closedPort);
    }

    @Test
    void policyDenial_closesWithoutDialling() throws Exception {
        StreamServer server = startServer(b -> b.policy(d -> d.port() != echo.port()));
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            assertClosedByServer(t.input());
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.POLICY_DENIED);
        assertThat(echo.connectionCount()).isZero();
    }

    @Test
    void clientThatNeverStartsTls_isClosedAfterHeaderTimeout() throws Exception {
        StreamServer server = startServer();
        try (Socket s = new Socket()) {
            s.connect(server.tcpAddress(), (int) WAIT.toMillis());
            s.setSoTimeout((int) WAIT.toMillis());
            long start = System.nanoTime();
            assertClosedByServer(s.getInputStream());
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).isGreaterThanOrEqualTo(HEADER_TIMEOUT.minusMillis(200))
                    .isLessThan(HEADER_TIMEOUT.plusSeconds(5));
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
    }

    @Test
    void clientThatNeverSendsHeader_isClosedAfterHeaderTimeout() throws Exception {
        StreamServer server = startServer();
        long start = System.nanoTime();
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(WireHeaders.valid(echo.host(), "1", 0), 0, 100);
            s.getOutputStream().flush();
            assertClosedByServer(s.getInputStream());
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).isGreaterThanOrEqualTo(HEADER_TIMEOUT.minusMillis(200))
                .isLessThan(HEADER_TIMEOUT.plusSeconds(5));
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
        assertThat(echo.connectionCount()).isZero();
    }

    @Test
    void ipv6Loopback_serverAndDestination() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(sendsAfterPeerCloseNotify(),
                "the test ends the upload with a half-close while the echo still flows back");
        InetAddress v6 = InetAddress.getByName("::1");
        TcpDestination dest6;
        try {
            dest6 = closeLater(TcpDestination.echo(v6));
        } catch (RuntimeException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no IPv6 loopback here: " + e);
            return;
        }
        StreamServer server = startServer(b -> b.tcp(new InetSocketAddress(v6, 0)));
        try (TcpTunnel t = open(client(server), "::1", dest6.port())) {
            t.output().write("v6".getBytes(StandardCharsets.US_ASCII));
            t.shutdownOutput();
            assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("v6");
        }
    }

    @Test
    void serverClose_endsLiveSessions_andLeavesNoThreadOrSocket() throws Exception {
        // warm up: JDK-internal threads and caches that start on first use are not the server's
        try (StreamServer warm = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                .transport(transport()).tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).build());
             StreamClient c = StreamClient.create(StreamClientOptions.builder(warm.tcpAddress(),
                     pki.clientCredentials()).transport(transport()).build());
             TcpTunnel t = open(c, echo.host(), echo.port())) {
            t.output().write(1);
            t.input().read();
        }
        ResourceSnapshot before = ResourceSnapshot.take();
        TcpDestination dest = TcpDestination.echo();
        StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                .transport(transport()).tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .listener(events).build());
        StreamClient client = StreamClient.create(StreamClientOptions.builder(server.tcpAddress(),
                pki.clientCredentials()).transport(transport()).build());
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
        assertThat(leftover).as("threads left running: %s", ResourceSnapshot.names(leftover)).isEmpty();
        if (before.fileDescriptors() >= 0) {
            assertThat(ResourceSnapshot.openFileDescriptors()).isLessThanOrEqualTo(before.fileDescriptors());
        }
    }

    @ParameterizedTest(name = "TLS {0}")
    @ValueSource(strings = {"1.3", "1.2"})
    void pythonSslClient_buildsItsOwnHeader_andGetsAnEcho(String version) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(!version.equals("1.2") || serverSupportsTls12(),
                "transport serves TLS 1.3 only");
        StreamServer server = startServer();
        byte[] payload = new byte[100_000];
        new Random(7).nextBytes(payload);
        OutsidePeers.Result r = OutsidePeers.pythonTls(server.tcpAddress(), pki, echo.host(), echo.port(), payload,
                version, WAIT);
        assertThat(r.exitCode()).as("python stderr: %s", r.stderr()).isZero();
        assertThat(r.stderr()).contains("version=TLSv" + version).contains("alpn=godoxy-agent-stream/1");
        assertThat(r.stdout()).isEqualTo(payload);
        assertThat(events.awaitClosed(WAIT).bytesToDestination()).isEqualTo(payload.length);
    }

    @Test
    void opensslSClient_withAlpnAndClientCertificate_getsAnEcho() throws Exception {
        StreamServer server = startServer();
        byte[] payload = "echo me through openssl\n".getBytes(StandardCharsets.US_ASCII);
        byte[] header = WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0);
        byte[] input = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, input, header.length, payload.length);
        OutsidePeers.Result r = OutsidePeers.opensslTls(server.tcpAddress(), pki, input, payload.length, WAIT);
        assertThat(r.stdout()).as("openssl stderr: %s", r.stderr()).isEqualTo(payload);
        assertThat(events.awaitOpened(WAIT).destination()).isEqualTo(Destination.of(echo.host(), echo.port()));
    }

    /**
     * Opens a tunnel whose reads are bounded by {@link #WAIT}.
     *
     * @param client the client
     * @param host   the destination host
     * @param port   the destination port
     * @return the tunnel
     * @throws IOException if opening fails
     */
    protected static TcpTunnel open(StreamClient client, String host, int port) throws IOException {
        TcpTunnel t = client.openTcp(host, port);
        t.setReadTimeout(WAIT);
        return t;
    }

    /**
     * Asserts that the server closed the stream: end of stream or a connection error, within the read timeout.
     *
     * @param in the stream to read
     */
    protected static void assertClosedByServer(InputStream in) {
        byte[] buf = new byte[1024];
        try {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                if (in.read(buf) < 0) {
                    return;
                }
            }
            throw new AssertionError("the server kept the connection open");
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the server did not close the connection within the read timeout", e);
        } catch (IOException e) {
            // reset or TLS alert: closed
        }
    }

}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.HealthProbeException;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Running a TCP server for months: new credentials given to a running server reach new handshakes at once while open
 * tunnels keep working, and a TLS session made before the update is not resumed after it; a drain refuses new tunnels with {@link RefusalReason#DRAINING}, lets live ones finish, and
 * ends what is left at its timeout, and a health probe meanwhile gets a reset, so that it does not read healthy.
 */
public abstract class TcpLifecycleKit extends TcpKitBase {

    @Test
    public void updateCredentials_newHandshakesUseTheNewCertificate_openTunnelKeepsWorking() throws Exception {
        StreamServer server = startServer();
        StreamClient oldTrust = client(server);
        StreamClient newTrust = client(server, RotatedPki.clientTrustingRotatedServer(pki));
        assertThatThrownBy(() -> roundTrip(newTrust, "before"))
                .as("a client that trusts only the rotated server's CA fails before the update")
                .isInstanceOf(IOException.class);
        try (TcpTunnel open = open(oldTrust, echo.host(), echo.port())) {
            echoOnce(open, "open before");

            server.updateCredentials(RotatedPki.rotatedServerCredentials(pki));

            roundTrip(newTrust, "after");
            assertThatThrownBy(() -> roundTrip(oldTrust, "after"))
                    .as("a new handshake presents the rotated certificate, which the old trust refuses")
                    .isInstanceOf(IOException.class);
            echoOnce(open, "still open after the update");
        }
    }

    @Test
    public void sessionFromBeforeACredentialsUpdate_isNotResumed_afterIt() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        echoOnNewTunnel(client, 1);
        assertThat(events.awaitHandshake(WAIT)).as("the first tunnel makes a full handshake").isFalse();
        echoOnNewTunnel(client, 2);
        assertThat(events.awaitHandshake(WAIT)).as("the client resumes its session on the next tunnel").isTrue();
        // the same files reloaded: a CA taken out of trust would be reloaded the same way, and a session made
        // under the old trust must not carry a client past the new one
        server.updateCredentials(pki.serverCredentials());
        echoOnNewTunnel(client, 3);
        assertThat(events.awaitHandshake(WAIT)).as("a session from before the update is not resumed after it")
                .isFalse();
    }

    private void echoOnNewTunnel(StreamClient client, int b) throws IOException {
        try (TcpTunnel t = open(client, echo.host(), echo.port())) {
            t.output().write(b);
            t.output().flush();
            assertThat(t.input().read()).isEqualTo(b);
        }
    }

    @Test
    public void drain_refusesNewTunnels_letsTheLiveOneFinish() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        TcpTunnel live = open(client, echo.host(), echo.port());
        echoOnce(live, "before the drain");
        events.awaitOpened(WAIT);
        server.stopAdmitting(); // returns once nothing new is admitted
        CompletableFuture<Boolean> drained = drainInBackground(server, WAIT);

        try (TcpTunnel refused = open(client, echo.host(), echo.port())) {
            RecordingListener.Refusal r = events.awaitRefusal(WAIT);
            assertThat(r.reason()).isEqualTo(RefusalReason.DRAINING);
            assertClosedByServer(refused.input());
        }
        echoOnce(live, "during the drain");
        assertThat(drained).as("the drain waits for the live tunnel").isNotDone();
        live.shutdownOutput();
        assertThat(live.input().read()).isEqualTo(-1);
        live.close();
        assertThat(drained.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .as("every session ended by itself").isTrue();
        assertThat(events.awaitClosed(WAIT).bytesToDestination()).isPositive();
    }

    @Test
    public void healthProbe_whileDraining_isAnsweredWithAReset_andFailsAsUnavailable() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        assertThat(client.probeTcp(WAIT)).as("healthy before the drain").isPositive();
        events.awaitProbe(WAIT);
        server.stopAdmitting();

        // on the wire: no close_notify and no FIN, which a prober would take for a healthy server's quiet close
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(WireHeaders.valid("", "", 1));
            s.getOutputStream().flush();
            assertThatThrownBy(() -> s.getInputStream().read())
                    .as("a probe of a draining server ends with a reset, not an end of stream")
                    .isInstanceOf(IOException.class).hasMessageContaining("reset");
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.DRAINING);

        assertThatThrownBy(() -> client.probeTcp(WAIT)).as("the transport's own probe")
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .as("%s", e.getMessage()).isEqualTo(HealthProbeException.Failure.UNAVAILABLE));
        assertThat(echo.connectionCount()).isZero();
    }

    @Test
    public void drain_endsTheLiveTunnelAtItsTimeout() throws Exception {
        StreamServer server = startServer();
        try (TcpTunnel live = open(client(server), echo.host(), echo.port())) {
            echoOnce(live, "before the drain");
            long start = System.nanoTime();
            assertThat(server.drain(Duration.ofMillis(500))).as("the tunnel outlived the drain").isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
            assertClosedByServer(live.input());
        }
        events.awaitClosed(WAIT);
        assertThat(server.activeSessions(io.streamproxy.Protocol.TCP)).isZero();
    }

    @Test
    public void sessionEnded_tellsIdentity_dialledAddress_bytes_andWhichSideEndedFirst() throws Exception {
        StreamServer server = startServer();
        java.time.Instant before = java.time.Instant.now();
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            echoOnce(t, "twelve bytes");
            t.shutdownOutput();
            assertThat(t.input().read()).isEqualTo(-1);
        }
        RecordingListener.Closed closed = events.awaitClosed(WAIT);
        io.streamproxy.SessionInfo info = closed.session();
        assertThat(info.clientIdentity()).isEqualTo(pki.client().certificate().getSubjectX500Principal().getName());
        assertThat(info.dialled()).isEqualTo(new java.net.InetSocketAddress(echo.host(), echo.port()));
        assertThat(info.openedAt()).isBetween(before, java.time.Instant.now());
        io.streamproxy.SessionEnd end = closed.end();
        assertThat(end).as("reported through sessionEnded").isNotNull();
        assertThat(end.bytesToDestination()).isEqualTo(12);
        assertThat(end.bytesFromDestination()).isEqualTo(12);
        assertThat(end.endedFirst()).isEqualTo(io.streamproxy.SessionEnd.Side.CLIENT);
        assertThat(end.duration()).isPositive();
        assertThat(end.reason()).isNotBlank();
    }

    @Test
    public void policy_receivesTheAuthenticatedClientIdentity() throws Exception {
        java.util.List<io.streamproxy.ClientIdentity> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        StreamServer server = startServer(b -> b.policy(recordingIdentities(seen)));
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            echoOnce(t, "judged by who I am");
        }
        java.security.cert.X509Certificate cert = pki.client().certificate();
        assertThat(seen).hasSize(2).allSatisfy(c -> {
            assertThat(c.subject()).isEqualTo(cert.getSubjectX500Principal().getName());
            assertThat(c.commonName()).isNotNull();
            assertThat(c.subject()).contains("CN=" + c.commonName());
            assertThat(c.publicKeySha256()).isEqualTo(java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(cert.getPublicKey().getEncoded())));
        });
    }

    @Test
    public void proxyProtocolV2_precedesThePayload_withClientServerAndCommonName() throws Exception {
        StreamServer server = startServer(b -> b.proxyProtocolV2(true));
        try (java.net.ServerSocket destination = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (java.net.Socket s = destination.accept()) {
                    s.setSoTimeout((int) WAIT.toMillis());
                    return s.getInputStream().readAllBytes();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (TcpTunnel t = open(client(server), "127.0.0.1", destination.getLocalPort())) {
                t.output().write("payload".getBytes(StandardCharsets.UTF_8));
                t.output().flush();
                t.shutdownOutput();
                assertThat(t.input().read()).isEqualTo(-1);
            }
            java.net.InetSocketAddress client = (java.net.InetSocketAddress) events.awaitOpened(WAIT).client();
            String cn = io.streamproxy.ClientIdentity.of(pki.client().certificate()).commonName();
            byte[] cnBytes = cn.getBytes(StandardCharsets.UTF_8);
            java.nio.ByteBuffer expected = java.nio.ByteBuffer.allocate(28 + 11 + cnBytes.length + 7);
            expected.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11})
                    .putShort((short) (12 + 11 + cnBytes.length))
                    .put(client.getAddress().getAddress()).put(new byte[] {127, 0, 0, 1})
                    .putShort((short) client.getPort()).putShort((short) server.tcpAddress().getPort())
                    .put((byte) 0x20).putShort((short) (8 + cnBytes.length)).put((byte) 3).putInt(0)
                    .put((byte) 0x22).putShort((short) cnBytes.length).put(cnBytes)
                    .put("payload".getBytes(StandardCharsets.UTF_8));
            assertThat(received.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(expected.array());
        }
        assertThat(events.awaitClosed(WAIT).bytesToDestination()).as("the header is not payload").isEqualTo(7);
    }

    @Test
    public void maxTunnelLifetime_endsABusyTunnel_andReportsItsBytes() throws Exception {
        StreamServer server = startServer(b -> b.maxTunnelLifetime(Duration.ofMillis(700)));
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            echoOnce(t, "busy");
            assertClosedByServer(t.input());
        }
        RecordingListener.Closed closed = events.awaitClosed(WAIT);
        assertThat(closed.end().reason()).isEqualTo("reached the maximum lifetime of 700ms");
        assertThat(closed.bytesToDestination()).isEqualTo(4);
        assertThat(closed.end().duration()).isGreaterThanOrEqualTo(Duration.ofMillis(700));
    }

    @Test
    public void tcpIdleTimeout_endsAQuietTunnel_whileTrafficKeepsItOpen() throws Exception {
        StreamServer server = startServer(b -> b.tcpIdleTimeout(Duration.ofMillis(800)));
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            long start = System.nanoTime();
            for (int i = 0; System.nanoTime() - start < Duration.ofMillis(1600).toNanos(); i++) {
                echoOnce(t, "keep alive " + i); // traffic well within the bound, for twice the bound
                java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(100).toNanos()); // pacing
            }
            assertThat(events.pollClosed(Duration.ZERO)).as("busy tunnels are not idle").isNull();
            assertClosedByServer(t.input());
        }
        assertThat(events.awaitClosed(WAIT).end().reason()).isEqualTo("idle for 800ms");
    }

    private void roundTrip(StreamClient client, String text) throws IOException {
        try (TcpTunnel t = open(client, echo.host(), echo.port())) {
            echoOnce(t, text);
        }
    }

    /**
     * Sends a text and reads it back.
     *
     * @param t    the tunnel
     * @param text what to send
     * @throws IOException if the echo fails
     */
    protected static void echoOnce(TcpTunnel t, String text) throws IOException {
        byte[] msg = text.getBytes(StandardCharsets.UTF_8);
        t.output().write(msg);
        t.output().flush();
        assertThat(t.input().readNBytes(msg.length)).isEqualTo(msg);
    }

    /**
     * A policy that allows everything and records the client identity it is given; it fails if a server asks the
     * form without the client (the TCP and UDP lifecycle kits share it).
     */
    static io.streamproxy.DestinationPolicy recordingIdentities(java.util.List<io.streamproxy.ClientIdentity> seen) {
        return new io.streamproxy.DestinationPolicy() {
            @Override
            public boolean allows(io.streamproxy.Destination destination) {
                throw new AssertionError("the server must ask the form that takes the client");
            }

            @Override
            public boolean allows(io.streamproxy.Destination destination, io.streamproxy.ClientIdentity client) {
                seen.add(client);
                return true;
            }

            @Override
            public boolean allows(io.streamproxy.Destination destination, java.net.InetAddress address,
                                  io.streamproxy.ClientIdentity client) {
                seen.add(client);
                return true;
            }
        };
    }

    static CompletableFuture<Boolean> drainInBackground(StreamServer server, Duration timeout) {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(server.drain(timeout));
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "kit-drain");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** A second PKI whose server certificate a running server is given, and a client that trusts only its CA. */
    static final class RotatedPki {
        private static volatile TestPki rotated;

        private RotatedPki() {
        }

        static synchronized TestPki get() {
            if (rotated == null) {
                rotated = TestPki.create();
            }
            return rotated;
        }

        /** The rotated server certificate, still trusting the kit's own CA for clients. */
        static TlsCredentials rotatedServerCredentials(TestPki pki) {
            TestPki r = get();
            return TlsCredentials.of(List.of(pki.caCertificate()), List.of(r.server().certificate()), r.server().key());
        }

        /** The kit's client certificate, trusting only the rotated server's CA. */
        static TlsCredentials clientTrustingRotatedServer(TestPki pki) {
            return TlsCredentials.of(List.of(get().caCertificate()), List.of(pki.client().certificate()),
                    pki.client().key());
        }
    }
}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.HealthProbeException;
import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.protocol.SessionCore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Running a UDP server for months: new credentials given to a running server reach new DTLS handshakes at once while
 * open sessions keep relaying; a drain admits no new session (its ClientHello is dropped, counted as
 * {@code draining}), lets live ones go on, and ends what is left at its timeout.
 */
public abstract class UdpLifecycleKit extends UdpKitBase {

    @Test
    public void updateCredentials_newHandshakesUseTheNewCertificate_openSessionKeepsRelaying() throws Exception {
        StreamServer server = startServer();
        StreamClient oldTrust = client(server);
        StreamClient newTrust = client(server, TcpLifecycleKit.RotatedPki.clientTrustingRotatedServer(pki));
        assertThatThrownBy(() -> roundTrip(newTrust, 1))
                .as("a client that trusts only the rotated server's CA fails before the update")
                .isInstanceOf(IOException.class);
        try (DatagramTunnel open = oldTrust.openUdp(echo.host(), echo.port())) {
            echoOnce(open, 2);

            server.updateCredentials(TcpLifecycleKit.RotatedPki.rotatedServerCredentials(pki));

            roundTrip(newTrust, 3);
            assertThatThrownBy(() -> roundTrip(oldTrust, 4))
                    .as("a new handshake presents the rotated certificate, which the old trust refuses")
                    .isInstanceOf(IOException.class);
            echoOnce(open, 5);
        }
    }

    @Test
    public void drain_admitsNoNewSession_letsTheLiveOneRelay() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        DatagramTunnel live = client.openUdp(echo.host(), echo.port());
        echoOnce(live, 1);
        server.stopAdmitting(); // returns once nothing new is admitted
        CompletableFuture<Boolean> drained = TcpLifecycleKit.drainInBackground(server, WAIT);

        StreamClient impatient = closeLater(newClient(clientOptions(server.udpAddress(), pki.clientCredentials())
                .handshakeTimeout(Duration.ofSeconds(1)).build()));
        assertThatThrownBy(() -> roundTrip(impatient, 2)).as("no new session while draining, and the client is "
                + "told why (a fatal user_canceled alert), not left to its handshake timeout")
                .isInstanceOf(IOException.class).hasMessageContaining("draining");
        assertThat(events.unauthenticatedDrops(SessionCore.DROP_DRAINING)).isPositive();
        assertThatThrownBy(() -> client.probeUdp(WAIT)).as("a probe of the draining server")
                .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                        .as("%s", e.getMessage()).isEqualTo(HealthProbeException.Failure.UNAVAILABLE));
        echoOnce(live, 3);
        assertThat(drained).as("the drain waits for the live session").isNotDone();
        live.close();
        assertThat(drained.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                .as("every session ended by itself").isTrue();
    }

    @Test
    public void drain_endsTheLiveSessionAtItsTimeout() throws Exception {
        StreamServer server = startServer();
        try (DatagramTunnel live = client(server).openUdp(echo.host(), echo.port())) {
            echoOnce(live, 1);
            assertThat(server.drain(Duration.ofMillis(500))).as("the session outlived the drain").isFalse();
            assertThat(receive(live)).as("the server ended the session").isNull();
        }
        events.awaitClosed(WAIT);
        assertThat(server.activeSessions(Protocol.UDP)).isZero();
    }

    @Test
    public void sessionEnded_tellsIdentity_dialledAddress_bytesAndDatagrams_andThatTheClientEndedFirst()
            throws Exception {
        StreamServer server = startServer();
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            echoOnce(t, 1);
            echoOnce(t, 2);
        }
        RecordingListener.Closed closed = events.awaitClosed(WAIT);
        assertThat(closed.session().clientIdentity())
                .isEqualTo(pki.client().certificate().getSubjectX500Principal().getName());
        assertThat(closed.session().dialled()).isEqualTo(new java.net.InetSocketAddress(echo.host(), echo.port()));
        assertThat(closed.session().openedAt()).isNotNull();
        io.streamproxy.SessionEnd end = closed.end();
        assertThat(end).as("reported through sessionEnded").isNotNull();
        assertThat(end.datagramsToDestination()).isEqualTo(2);
        assertThat(end.datagramsFromDestination()).isEqualTo(2);
        assertThat(end.bytesToDestination()).isEqualTo(2);
        assertThat(end.endedFirst()).as(end.reason()).isEqualTo(io.streamproxy.SessionEnd.Side.CLIENT);
    }

    @Test
    public void policy_receivesTheAuthenticatedClientIdentity() throws Exception {
        java.util.List<io.streamproxy.ClientIdentity> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        StreamServer server = startServer(b -> b.policy(TcpLifecycleKit.recordingIdentities(seen)));
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            echoOnce(t, 7);
        }
        assertThat(seen).hasSize(2).allSatisfy(c -> assertThat(c).isEqualTo(
                io.streamproxy.ClientIdentity.of(pki.client().certificate())));
    }

    @Test
    public void proxyProtocolV2_precedesEveryDatagram_withClientServerAndCommonName() throws Exception {
        StreamServer server = startServer(b -> b.proxyProtocolV2(true));
        try (java.net.DatagramSocket destination = new java.net.DatagramSocket(0,
                java.net.InetAddress.getLoopbackAddress());
             DatagramTunnel t = client(server).openUdp("127.0.0.1", destination.getLocalPort())) {
            destination.setSoTimeout((int) WAIT.toMillis());
            t.send(ByteBuffer.wrap(new byte[] {1, 2, 3}));
            t.send(ByteBuffer.wrap(new byte[] {4}));
            java.net.InetSocketAddress client = (java.net.InetSocketAddress) events.awaitOpened(WAIT).client();
            byte[] cn = io.streamproxy.ClientIdentity.of(pki.client().certificate()).commonName()
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (byte[] payload : new byte[][] {{1, 2, 3}, {4}}) {
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
                destination.receive(p);
                ByteBuffer expected = ByteBuffer.allocate(28 + 11 + cn.length + payload.length);
                expected.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                        0x21, 0x12}).putShort((short) (12 + 11 + cn.length))
                        .put(client.getAddress().getAddress()).put(server.udpAddress().getAddress().getAddress())
                        .putShort((short) client.getPort()).putShort((short) server.udpAddress().getPort())
                        .put((byte) 0x20).putShort((short) (8 + cn.length)).put((byte) 3).putInt(0)
                        .put((byte) 0x22).putShort((short) cn.length).put(cn).put(payload);
                assertThat(java.util.Arrays.copyOf(p.getData(), p.getLength())).as("UDP over IPv4, every datagram")
                        .isEqualTo(expected.array());
            }
        }
        assertThat(events.awaitClosed(WAIT).bytesToDestination()).as("the header is not payload").isEqualTo(4);
    }

    private void roundTrip(StreamClient client, int b) throws IOException {
        try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
            echoOnce(t, b);
        }
    }

    private static void echoOnce(DatagramTunnel t, int b) throws IOException {
        t.send(ByteBuffer.wrap(new byte[] {(byte) b}));
        assertThat(receive(t)).containsExactly(b);
    }
}

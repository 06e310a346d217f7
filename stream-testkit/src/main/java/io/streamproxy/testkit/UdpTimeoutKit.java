package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.HealthProbeException;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Timeouts over UDP: a probe of a silent server times out, half-open and header-less sessions are reaped after the
 * header timeout, idle sessions after the idle timeout (and traffic keeps them alive), and an unreachable destination
 * port keeps the session until the destination answers.
 */
public abstract class UdpTimeoutKit extends UdpKitBase {
    @Test
    public void probeOfSilentServer_failsWithTimeout() throws Exception {
        try (DatagramChannel silent = DatagramChannel.open()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            StreamClient client = closeLater(newClient(clientOptions((InetSocketAddress) silent.getLocalAddress(),
                    pki.clientCredentials()).build()));
            long start = System.nanoTime();
            assertThatThrownBy(() -> client.probeUdp(Duration.ofMillis(1500)))
                    .isInstanceOfSatisfying(HealthProbeException.class, e -> assertThat(e.failure())
                            .isEqualTo(HealthProbeException.Failure.TIMEOUT));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    public void clientThatStopsAfterTheCookie_isReapedAfterHeaderTimeout() throws Exception {
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
    public void handshakeWithoutHeader_isReapedAfterHeaderTimeout() throws Exception {
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
    public void idleSession_isReaped_andClientSeesTheEnd() throws Exception {
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

    /**
     * Only authenticated traffic keeps a session alive: datagrams from the client's address that do not decode (a
     * spoofer's, or junk) do not refresh the idle timer, and the session is reaped on time.
     */
    @Test
    public void junkFromTheClientsAddress_doesNotKeepTheSessionAlive() throws Exception {
        Duration idle = Duration.ofMillis(1200);
        StreamServer server = startServer(b -> b.udpIdleTimeout(idle));
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            c.handshake(WAIT);
            c.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            c.send(new byte[] {1});
            assertThat(c.receive(WAIT)).containsExactly(1);
            long start = System.nanoTime();
            byte[] junk = {0x17, (byte) 0xfe, (byte) 0xfd, 0x00, 0x01, 0, 0, 0, 0, 0, 0x09, 0x00, 0x20};
            byte[] record = java.util.Arrays.copyOf(junk, junk.length + 32); // claims 32 bytes, which do not decrypt
            RecordingListener.Closed closed = null;
            while (closed == null && System.nanoTime() - start < idle.multipliedBy(3).toNanos()) {
                c.transmit(ByteBuffer.wrap(record));
                closed = events.pollClosed(Duration.ofMillis(100)); // junk every 100 ms
            }
            assertThat(closed).as("reaped although junk kept coming").isNotNull();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(idle.multipliedBy(2));
        }
    }

    @Test
    public void trafficKeepsSessionAlive_pastTheIdleTimeout() throws Exception {
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
    public void destinationPortUnreachable_keepsServerAndSession_untilDestinationAnswers() throws Exception {
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
}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Resources over UDP: the first ClientHello gets a small HelloVerifyRequest, a ClientHello flood is capped at the
 * handshake limit without a socket per source, and closing a server ends every session and frees its sockets and
 * threads.
 */
public abstract class UdpResourceKit extends UdpKitBase {
    @Test
    public void firstClientHello_isAnsweredWithHelloVerifyRequest() throws Exception {
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

    /**
     * ClientHellos that never answer the cookie (spoofed sources) hold no engine and no handshake slot: after a
     * flood of them at a server with 2 slots, a real client opens a tunnel at once.
     */
    @Test
    public void spoofedClientHellos_holdNoHandshakeSlot() throws Exception {
        StreamServer server = startServer(b -> b.maxHandshakes(2).headerTimeout(Duration.ofSeconds(30)));
        for (int i = 0; i < 50; i++) {
            try (RawDtlsClient spoofed = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
                spoofed.sendClientHelloOnly();
            }
        }
        try (StreamClient client = newClient(clientOptions(server.udpAddress(), pki.clientCredentials()).build());
             DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
            t.send(ByteBuffer.wrap(new byte[] {7}));
            assertThat(receive(t)).containsExactly((byte) 7);
        }
    }

    @Test
    public void clientHelloFlood_isCappedAtMaxHandshakes() throws Exception {
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
    public void serverClose_endsEverySession_andFreesSocketsAndThreads() throws Exception {
        // warm up: JDK-internal threads and caches that start on first use are not the server's; the warm-up server
        // reports to no listener, so that its session does not count among those awaited below
        try (StreamServer warm = newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT)
                .listener(SessionListener.NONE).udp(loopback()).build());
             StreamClient c = newClient(clientOptions(warm.udpAddress(), pki.clientCredentials()).build());
             DatagramTunnel t = c.openUdp(echo.host(), echo.port())) {
            t.send(ByteBuffer.wrap(new byte[] {1}));
            receive(t);
        }
        ResourceSnapshot before = ResourceSnapshot.take();
        UdpDestination dest = UdpDestination.echo();
        StreamServer server = newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT).udp(loopback())
                .build());
        StreamClient client = newClient(clientOptions(server.udpAddress(), pki.clientCredentials()).build());
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

    private static InetSocketAddress loopback() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }
}

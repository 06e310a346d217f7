package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.TlsCredentials;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * The port forward, as {@code stream-proxy forward} runs it ({@link StreamClient#forwardTcp}): plain local
 * connections through the transport's forward and server to a destination. Bytes arrive whole both ways on many
 * connections at once, half-close passes through both ways, a reset on either end reaches the other as a reset, and
 * closing the forward stops it listening.
 */
public abstract class TcpForwardKit extends TcpKitBase {

    private PortForward forward(StreamClient client, TcpDestination dest) throws IOException {
        PortForward f = client.forwardTcp(Destination.of(dest.host(), dest.port()),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        closeLater(f);
        return f;
    }

    private static Socket connect(PortForward f) throws IOException {
        return connect(f, 0);
    }

    /** A local connection to the forward, with the given receive buffer (bytes, 0 for the system's) from the start. */
    private static Socket connect(PortForward f, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(f.address(), (int) WAIT.toMillis());
        s.setSoTimeout((int) WAIT.toMillis());
        return s;
    }

    /** Sends a line on a local connection to the echo and reads it back. */
    private static void echoes(Socket s, String line) throws IOException {
        byte[] sent = (line + "\n").getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(sent);
        s.getOutputStream().flush();
        byte[] got = new byte[sent.length];
        new DataInputStream(s.getInputStream()).readFully(got);
        assertThat(new String(got, StandardCharsets.UTF_8)).isEqualTo(line + "\n");
    }

    /**
     * The client's certificate is rotated while its forward runs ({@link StreamClient#updateCredentials}): the
     * connection already relaying goes on, and the next local connection's tunnel handshakes with the new
     * certificate (a full handshake: a session resumed from before would still carry the old one).
     */
    @Test
    public void rotatedClientCredentials_reachTheNextConnection_whileOpenOnesGoOn() throws Exception {
        StreamServer server = startServer();
        StreamClient client = client(server);
        PortForward f = forward(client, echo);
        try (Socket before = connect(f)) {
            echoes(before, "before the rotation");
            assertThat(events.awaitOpened(WAIT).clientIdentity()).as("the first tunnel's client certificate")
                    .isEqualTo("CN=stream-proxy test client");
            TestPki.PemFiles rotated = pki.clientValidUntil(Instant.now().plus(Duration.ofDays(1)));
            client.updateCredentials(TlsCredentials.fromPem(pki.caFile(), rotated.certificate(),
                    rotated.key()));
            try (Socket after = connect(f)) {
                echoes(after, "after the rotation");
                assertThat(events.awaitOpened(WAIT).clientIdentity())
                        .as("the client certificate of the tunnel opened after the rotation")
                        .isEqualTo("CN=stream-proxy short-lived client");
            }
            echoes(before, "the first tunnel, still relaying");
        }
    }

    /**
     * 16 local connections at once each send 1 MiB of seeded bytes and read them back from the echo, whole, then end
     * of stream after their half-close (where {@link #sendsAfterPeerCloseNotify()} says the configuration has
     * half-close; otherwise each reads its bytes back and closes).
     */
    @Test
    public void bytesArriveWhole_bothWays_onManyConnectionsAtOnce() throws Exception {
        StreamServer server = startServer();
        PortForward f = forward(client(server), echo);
        boolean halfClose = sendsAfterPeerCloseNotify();
        ExecutorService pool = Executors.newFixedThreadPool(32);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int seed = i;
                done.add(pool.submit(() -> {
                    try (Socket s = connect(f)) {
                        byte[] data = new byte[1 << 20];
                        new Random(seed).nextBytes(data);
                        Future<?> writer = pool.submit(() -> {
                            OutputStream out = s.getOutputStream();
                            for (int off = 0; off < data.length; off += 8192) {
                                out.write(data, off, 8192);
                            }
                            if (halfClose) {
                                s.shutdownOutput();
                            }
                            return null;
                        });
                        byte[] back = new DataInputStream(s.getInputStream())
                                .readNBytes(halfClose ? data.length + 1 : data.length);
                        writer.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                        assertThat(back.length).as("bytes echoed" + (halfClose ? ", then end of stream" : ""))
                                .isEqualTo(data.length);
                        assertThat(crc(back)).as("CRC32 of what came back on connection " + seed)
                                .isEqualTo(crc(data));
                    }
                    return null;
                }));
            }
            for (Future<?> d : done) {
                d.get(WAIT.toMillis() * 2, TimeUnit.MILLISECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    /**
     * The local client sends "request" and its FIN; returns the destination's connection once it read exactly that
     * and then end of stream.
     */
    private static Socket requestThenFin(Socket local, TcpDestination dest) throws Exception {
        local.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
        local.shutdownOutput();
        Socket d = dest.takeConnection(WAIT);
        d.setSoTimeout((int) WAIT.toMillis());
        assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                .as("what the destination read before end of stream").isEqualTo("request");
        return d;
    }

    /** The local client's FIN reaches the destination, whose reply after it still reaches the client. */
    @Test
    public void halfClose_fromTheLocalClient_reachesTheDestination_whileTheReplyFlowsBack() throws Exception {
        assumeHalfClose();
        TcpDestination dest = closeLater(TcpDestination.scripted());
        PortForward f = forward(client(startServer()), dest);
        try (Socket local = connect(f)) {
            try (Socket d = requestThenFin(local, dest)) {
                d.getOutputStream().write("reply after your EOF".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(local.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .as("the reply the local client read after its half-close").isEqualTo("reply after your EOF");
            }
        }
    }

    /**
     * After the local client's FIN, a reply larger than every buffer on the way reaches it whole, then end of stream:
     * the client's small receive buffer makes the forward wait to write to it again and again after its input ended
     * (Netty 4.2's epoll transport then failed that wait, shut the output and ended the reply early with a clean
     * FIN).
     */
    @Test
    public void halfClose_fromTheLocalClient_thenALongReply_reachesItWhole() throws Exception {
        assumeHalfClose();
        TcpDestination dest = closeLater(TcpDestination.scripted());
        PortForward f = forward(client(startServer()), dest);
        byte[] reply = new byte[16 << 20];
        new Random(11).nextBytes(reply);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try (Socket local = connect(f, 4096)) {
            try (Socket d = requestThenFin(local, dest)) {
                Future<?> sent = writer.submit(() -> {
                    d.getOutputStream().write(reply);
                    d.shutdownOutput();
                    return null;
                });
                byte[] got = local.getInputStream().readAllBytes();
                sent.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                assertThat(got.length).as("bytes of the reply before end of stream").isEqualTo(reply.length);
                assertThat(crc(got)).as("CRC32 of the reply").isEqualTo(crc(reply));
            }
        } finally {
            writer.shutdownNow();
        }
    }

    /** The destination's FIN reaches the local client, which keeps sending afterwards. */
    @Test
    public void halfClose_fromTheDestination_reachesTheLocalClient_whileItKeepsSending() throws Exception {
        assumeHalfClose();
        TcpDestination dest = closeLater(TcpDestination.scripted());
        PortForward f = forward(client(startServer()), dest);
        try (Socket local = connect(f)) {
            local.getOutputStream().write('x');
            try (Socket d = dest.takeConnection(WAIT)) {
                d.setSoTimeout((int) WAIT.toMillis());
                assertThat(d.getInputStream().read()).isEqualTo('x');
                d.getOutputStream().write("banner".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(local.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .as("what the local client read before end of stream").isEqualTo("banner");
                local.getOutputStream().write("still sending".getBytes(StandardCharsets.US_ASCII));
                local.shutdownOutput();
                assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .as("what the destination read after its own half-close").isEqualTo("still sending");
            }
        }
    }

    /** A destination that resets reaches the local client as a reset after the bytes it sent, never a clean end. */
    @Test
    public void destinationReset_reachesTheLocalClientAsAReset() throws Exception {
        TcpDestination dest = closeLater(TcpDestination.scripted());
        PortForward f = forward(client(startServer()), dest);
        try (Socket local = connect(f)) {
            local.getOutputStream().write(1);
            Socket d = dest.takeConnection(WAIT);
            assertThat(d.getInputStream().read()).isEqualTo(1);
            d.getOutputStream().write(new byte[] {2, 3});
            d.setSoLinger(true, 0);
            d.close();
            InputStream in = local.getInputStream();
            assertThat(in.read()).isEqualTo(2);
            assertThat(in.read()).isEqualTo(3);
            assertThatThrownBy(in::read).as("a reset, not an end of stream, after the destination's reset")
                    .isInstanceOf(java.net.SocketException.class);
        }
    }

    /** A local client that resets reaches the destination as a reset, never as a FIN. */
    @Test
    public void localReset_reachesTheDestinationAsAReset() throws Exception {
        TcpDestination dest = closeLater(TcpDestination.scripted());
        PortForward f = forward(client(startServer()), dest);
        Socket local = connect(f);
        local.getOutputStream().write(1);
        Socket d = dest.takeConnection(WAIT);
        d.setSoTimeout((int) WAIT.toMillis());
        assertThat(d.getInputStream().read()).isEqualTo(1);
        local.setSoLinger(true, 0);
        local.close();
        assertThatThrownBy(() -> d.getInputStream().read())
                .as("a reset, not an end of stream, after the local client's reset")
                .isInstanceOf(java.net.SocketException.class);
    }

    /**
     * A forward whose client certificate the server refuses resets its local connection: in TLS 1.3 the refusal is
     * an alert on a tunnel whose handshake the client already finished, and a clean end of stream would tell the
     * local program that its request got an empty answer.
     */
    @Test
    public void refusedClientCertificate_resetsTheLocalConnection() throws Exception {
        StreamServer server = startServer();
        PortForward f = closeLater(client(server, pki.impostorClientCredentials()).forwardTcp(
                Destination.of(echo.host(), echo.port()), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
        try (Socket local = connect(f)) {
            local.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(() -> local.getInputStream().read())
                    .as("a reset, not an end of stream, when the server refused the forward's certificate")
                    .isInstanceOf(java.net.SocketException.class);
        }
    }

    /**
     * A local client that reconnects in a loop while the server is down makes the forward log a run of failures,
     * not a line per connection (thousands a second filled the log), and each of its connections still ends.
     */
    @Test
    public void serverDown_reconnectingClient_logsOneWarning_notOnePerConnection() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(RecordedLogs.isActive(), "needs the kit's recording logger");
        StreamServer server = startServer();
        StreamClient client = client(server);
        server.close(); // its port now refuses connections
        PortForward f = forward(client, echo);
        int mark = RecordedLogs.mark();
        for (int i = 0; i < 50; i++) {
            try (Socket local = connect(f)) {
                assertThat(local.getInputStream().read()).as("connection %d", i).isEqualTo(-1);
            } catch (java.net.SocketException reset) {
                // a reset ends it too, sometimes before the socket is even set up here
            }
        }
        // the server is gone: every warning since the mark is the forward's (each is logged before its reset)
        RecordedLogs.await(mark, org.slf4j.event.Level.WARN, e -> true, WAIT);
        assertThat(RecordedLogs.since(mark, org.slf4j.event.Level.WARN))
                .as("the warnings about 50 connections refused by a server that is down").hasSize(1)
                .first().satisfies(e -> assertThat(e.message()).contains("connection from ").contains(" failed: "));
    }

    /** A destination that cannot be reached resets the local connection instead of leaving it open. */
    @Test
    public void unreachableDestination_endsTheLocalConnection() throws Exception {
        StreamServer server = startServer();
        int refusing;
        try (java.net.ServerSocket gone = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refusing = gone.getLocalPort(); // closed below: connections to it are refused
        }
        PortForward f = closeLater(client(server).forwardTcp(Destination.of("127.0.0.1", refusing),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
        try (Socket local = connect(f)) {
            local.getOutputStream().write(1);
            try {
                assertThat(local.getInputStream().read()).as("no byte from a destination that refused").isEqualTo(-1);
            } catch (java.net.SocketException e) {
                // a reset is fine too: what matters is that the connection ended within the bound
            }
        }
    }

    /** Closing the forward stops it listening. */
    @Test
    public void close_stopsListening() throws Exception {
        PortForward f = forward(client(startServer()), echo);
        InetSocketAddress address = f.address();
        try (Socket s = connect(f)) {
            s.getOutputStream().write(7);
            assertThat(s.getInputStream().read()).isEqualTo(7);
        }
        f.close();
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(address, (int) WAIT.toMillis());
            }
        }).as("a connection to a closed forward").isInstanceOf(IOException.class);
    }
}

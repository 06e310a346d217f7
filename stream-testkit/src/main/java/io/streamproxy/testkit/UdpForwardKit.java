package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * The UDP port forward, as {@code stream-proxy forward --udp} runs it ({@link StreamClient#forwardUdp}): each local
 * source gets its own session and only its own replies, datagrams pipelined faster than the round trip arrive
 * whole, a restarted server does not leave a source that keeps sending without replies, failing set-ups back off
 * instead of costing a handshake per datagram, and closing the forward stops it.
 */
public abstract class UdpForwardKit extends UdpKitBase {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    private PortForward forward(StreamClient client) throws IOException {
        return closeLater(client.forwardUdp(Destination.of(echo.host(), echo.port()), LOOPBACK,
                Duration.ofMinutes(1)));
    }

    private static DatagramChannel local(PortForward f) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        ch.bind(LOOPBACK);
        ch.connect(f.address());
        ch.socket().setSoTimeout((int) WAIT.toMillis());
        return ch;
    }

    private static byte[] datagram(int source, int seq) {
        byte[] d = new byte[1200];
        Arrays.fill(d, (byte) (source * 31 + seq));
        ByteBuffer.wrap(d).putInt(source).putInt(seq);
        return d;
    }

    private static byte[] receive(DatagramChannel ch) throws IOException {
        try {
            // the channel is blocking: its socket adaptor's receive honours the timeout
            java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
            ch.socket().receive(p);
            return Arrays.copyOf(p.getData(), p.getLength());
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no reply through the UDP forward within " + WAIT, e);
        }
    }

    /**
     * Two local sources each send 200 datagrams of 1200 bytes, 16 in flight, through the forward to the echo: each
     * gets back exactly its own datagrams, byte for byte, and the destination sees two sources (two sessions).
     */
    @Test
    public void eachLocalSource_getsItsOwnSession_andItsOwnReplies() throws Exception {
        PortForward f = forward(client(startServer()));
        try (DatagramChannel a = local(f); DatagramChannel b = local(f)) {
            exchange(a, 1, 200);
            exchange(b, 2, 200);
        }
        assertThat(echo.sourceCount()).as("destination sockets, one per local source's session").isEqualTo(2);
    }

    private static void exchange(DatagramChannel ch, int source, int count) throws IOException {
        int window = 16;
        int next = 0;
        int got = 0;
        for (; next < Math.min(window, count); next++) {
            ch.write(ByteBuffer.wrap(datagram(source, next)));
        }
        while (got < count) {
            byte[] reply = receive(ch);
            ByteBuffer r = ByteBuffer.wrap(reply);
            assertThat(r.getInt(0)).as("the source a reply belongs to").isEqualTo(source);
            int seq = r.getInt(4);
            assertThat(reply).as("reply " + seq + " byte for byte").isEqualTo(datagram(source, seq));
            got++;
            if (next < count) {
                ch.write(ByteBuffer.wrap(datagram(source, next++)));
            }
        }
    }

    /** Closing the forward stops it: a datagram sent afterwards gets no reply. */
    @Test
    public void close_stopsTheForward() throws Exception {
        PortForward f = forward(client(startServer()));
        try (DatagramChannel ch = local(f)) {
            ch.write(ByteBuffer.wrap(datagram(3, 0)));
            assertThat(receive(ch)).isEqualTo(datagram(3, 0));
            f.close();
            ch.write(ByteBuffer.wrap(datagram(3, 1)));
            ch.socket().setSoTimeout(1000);
            java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
            try {
                ch.socket().receive(p);
                throw new AssertionError("a reply came through a closed forward");
            } catch (SocketTimeoutException | java.net.PortUnreachableException expected) {
                // nothing answers any more
            }
        }
    }

    /**
     * The server the forward's sessions go to is restarted on the same address (the relay turns to a new server):
     * a local source that keeps sending gets replies again within {@link #WAIT}, through a new session, instead of
     * its datagrams going into a session the server no longer knows until the flow idles out (which its own
     * traffic would never let happen).
     */
    @Test
    public void serverRestarted_aSourceThatKeepsSending_getsRepliesThroughANewSession() throws Exception {
        StreamServer first = startServer();
        StreamServer restarted = startServer();
        try (DatagramLossRelay relay = new DatagramLossRelay(first.udpAddress())) {
            StreamClient client = clientThrough(relay);
            PortForward f = forward(client);
            try (DatagramChannel ch = local(f)) {
                ch.write(ByteBuffer.wrap(datagram(4, 0)));
                assertThat(receive(ch)).isEqualTo(datagram(4, 0));
                relay.redirect(restarted.udpAddress());
                ch.socket().setSoTimeout(200);
                long deadline = System.nanoTime() + WAIT.toNanos();
                int seq = 1;
                byte[] reply = null;
                while (reply == null && System.nanoTime() < deadline) {
                    ch.write(ByteBuffer.wrap(datagram(4, seq++)));
                    java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
                    try {
                        ch.socket().receive(p);
                        reply = Arrays.copyOf(p.getData(), p.getLength());
                    } catch (SocketTimeoutException e) {
                        // not yet: the source keeps sending, as a stream of datagrams does
                    }
                }
                assertThat(reply).as("a reply through the restarted server within %s", WAIT).isNotNull();
                assertThat(ByteBuffer.wrap(reply).getInt(0)).isEqualTo(4);
            }
        }
        assertThat(echo.sourceCount()).as("destination sockets: the first session's and the new one's")
                .isEqualTo(2);
    }

    /**
     * A source that keeps sending while every set-up fails (here the server refuses the forward's certificate) does
     * not cost a DTLS handshake per datagram: new flows back off (200 ms, doubling), so a hundred datagrams in a
     * second cost the server a handful of refused handshakes, not one per datagram.
     */
    @Test
    public void failingSetUps_backOff_insteadOfAHandshakePerDatagram() throws Exception {
        StreamServer server = startServer();
        PortForward f = forward(client(server, pki.impostorClientCredentials()));
        int sent = 0;
        try (DatagramChannel ch = local(f)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (System.nanoTime() < end) {
                ch.write(ByteBuffer.wrap(datagram(5, sent++)));
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // a source's pace
            }
        }
        assertThat(events.awaitRefusal(WAIT)).as("the server refused the certificate").isNotNull();
        assertThat(events.refusedCount()).as("handshakes the server refused, for %d datagrams", sent)
                .isBetween(1, 8);
    }
}

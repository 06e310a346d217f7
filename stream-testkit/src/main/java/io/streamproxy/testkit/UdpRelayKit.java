package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import java.io.IOException;
import java.nio.ByteBuffer;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Relaying over UDP: datagrams echo with their boundaries, ten thousand of random sizes keep boundaries and content,
 * sizes up to 16384 bytes pass both ways as one record each, oversize datagrams are dropped (from the destination) or
 * refused (by the client), fifty concurrent sessions never see each other's datagrams, a handshake, full or resumed,
 * survives the loss of the server's final flight, a client learns at once that a server does not know its
 * session, and a probe survives the loss of the server's close_notify.
 */
public abstract class UdpRelayKit extends UdpKitBase {
    @Test
    public void echo_roundTripsDatagrams() throws Exception {
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

    /**
     * Closing a tunnel while another thread waits in a long receive ends that receive (end or an IOException, well
     * before its own timeout), and a receive after the close returns at once.
     */
    @Test
    public void close_endsAWaitingReceive_andLaterReceivesReturnAtOnce() throws Exception {
        StreamServer server = startServer();
        DatagramTunnel t = closeLater(client(server).openUdp(echo.host(), echo.port()));
        t.send(ByteBuffer.wrap(new byte[] {1}));
        assertThat(receive(t)).containsExactly(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        closeLater(pool::shutdownNow);
        Callable<Integer> longReceive = () -> {
            try {
                return t.receive(ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM), Duration.ofHours(1));
            } catch (IOException e) {
                return -2; // failing is an answer too
            }
        };
        java.util.concurrent.CountDownLatch receiving = new java.util.concurrent.CountDownLatch(1);
        Future<Integer> waiting = pool.submit(() -> {
            receiving.countDown();
            return longReceive.call();
        });
        assertThat(receiving.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        t.close();
        try {
            assertThat(waiting.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).as("the receive that waited").isNegative();
            assertThat(pool.submit(longReceive).get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                    .as("a receive after the close").isNegative();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("a receive of a closed tunnel still waited after " + WAIT, e);
        }
    }

    @Test
    public void tenThousandDatagrams_ofRandomSizes_keepBoundariesAndContent() throws Exception {
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
    public void datagramSizes_passIntactBothWays_asOneRecordEach(int size) throws Exception {
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
    public void oversizeDestinationDatagram_isDropped_notTruncated() throws Exception {
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
    public void clientRefusesToSendOversizeDatagram() throws Exception {
        StreamServer server = startServer();
        try (DatagramTunnel t = client(server).openUdp(echo.host(), echo.port())) {
            assertThatThrownBy(() -> t.send(ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM + 1)))
                    .isInstanceOf(IOException.class).hasMessageContaining("16384");
            t.send(ByteBuffer.wrap(new byte[] {9}));
            assertThat(receive(t)).containsExactly(9);
        }
    }

    @Test
    public void fiftyConcurrentSessions_neverSeeEachOthersDatagrams() throws Exception {
        // not a timeout case, nor one of admission: fifty DTLS handshakes at once on a loaded machine can outlast the
        // kit's short deadlines, and over the default per-source limit (32) a ClientHello is dropped and comes back
        // only with the client's retransmission, after 1, 2 and 4 s (UdpResourceKit tests that path)
        StreamServer server = startServer(b -> b.headerTimeout(WAIT).maxHandshakesPerSource(50));
        StreamClient client = closeLater(newClient(clientOptions(server.udpAddress(), pki.clientCredentials())
                .handshakeTimeout(WAIT).build()));
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
            try {
                assertThat(f.get()).isTrue();
            } catch (java.util.concurrent.ExecutionException e) {
                // what the server saw too, so that a handshake that stalled can be placed
                throw new AssertionError("a session failed; the server refused " + events.refusals()
                        + " and dropped unauthenticated " + events.unauthenticatedDrops(), e.getCause());
            }
        }
        assertThat(echo.sourceCount()).isEqualTo(50);
    }

    /**
     * RFC 6347 4.1.2.7: records that do not decode are dropped silently. Junk from the client's own address (a
     * forged record header claiming 17000 bytes, a datagram of 300 empty records, random bytes) must not end a
     * relaying session, and datagrams keep flowing both ways.
     */
    @Test
    public void junkFromTheClientsAddress_isDropped_andTheSessionGoesOn() throws Exception {
        StreamServer server = startServer();
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            c.handshake(WAIT);
            c.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            c.send(new byte[] {1, 2, 3});
            assertThat(c.receive(WAIT)).containsExactly(1, 2, 3);
            c.transmit(ByteBuffer.wrap(new byte[] {0x17, (byte) 0xfe, (byte) 0xfd, 0x00, 0x01, 0, 0, 0, 0, 0, 0x63,
                    0x42, 0x68}));
            ByteBuffer flood = ByteBuffer.allocate(300 * 13);
            for (int i = 0; i < 300; i++) {
                flood.put(new byte[] {0x17, (byte) 0xfe, (byte) 0xfd, 0x00, 0x01, 0, 0, 0, 0, 0, (byte) i, 0, 0});
            }
            flood.flip();
            c.transmit(flood);
            byte[] random = new byte[200];
            new Random(11).nextBytes(random);
            c.transmit(ByteBuffer.wrap(random));
            c.send(new byte[] {4, 5});
            assertThat(c.receive(WAIT)).as("the session survived the junk").containsExactly(4, 5);
        }
        assertThat(events.refusedCount()).isZero();
    }

    /**
     * RFC 6347 4.2.8: a client restarted on the address and port of an established session starts a new handshake;
     * the server answers it with a fresh cookie exchange, and the old session is replaced once the new handshake
     * completes (before, the old session swallowed every new ClientHello and the client could never come back).
     */
    @Test
    public void clientRestartedOnTheSamePort_getsANewSession() throws Exception {
        StreamServer server = startServer();
        int port;
        try (RawDtlsClient first = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            first.handshake(WAIT);
            first.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            first.send(new byte[] {1});
            assertThat(first.receive(WAIT)).containsExactly(1);
            port = first.localPort();
        } // gone without close_notify, as a crashed client
        events.awaitOpened(WAIT);
        try (RawDtlsClient again = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null, port)) {
            again.handshake(WAIT);
            again.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            again.send(new byte[] {2});
            assertThat(again.receive(WAIT)).as("the new session relays").containsExactly(2);
        }
        events.awaitClosed(WAIT); // the old session, replaced
        assertThat(events.refusedCount()).isZero();
    }

    /**
     * A ClientHello that comes again after the session is established (a late duplicate, or one an on-path peer
     * replays) starts a new handshake on the server, but must not cut the established session off while that runs:
     * its datagrams keep flowing both ways.
     */
    @Test
    public void lateDuplicateClientHello_doesNotStallTheEstablishedSession() throws Exception {
        StreamServer server = startServer();
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            c.handshake(WAIT);
            c.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            c.send(new byte[] {1});
            assertThat(c.receive(WAIT)).containsExactly(1);
            c.transmit(ByteBuffer.wrap(c.sentDatagram(1))); // the ClientHello with the cookie, again
            for (int i = 2; i < 6; i++) {
                c.send(new byte[] {(byte) i});
                assertThat(c.receive(WAIT)).as("echo %d after the duplicate hello", i).containsExactly(i);
            }
        }
        assertThat(events.refusedCount()).isZero();
    }

    /**
     * The server's final flight (its NewSessionTicket, ChangeCipherSpec and Finished, and any copy of them it sends at
     * once) is lost until the client repeats its own flight, in a full handshake and then in a resumed one: the
     * server answers the repeat with its flight, and each tunnel opens and relays. (The JDK's client engine read a
     * Finished that followed a lost ticket and failed the handshake, and its server engine, once done, never sent its
     * last flight again.)
     */
    @Test
    public void lostFinalFlightOfTheServer_isResent_inAFullAndAResumedHandshake() throws Exception {
        StreamServer server = startServer(b -> b.headerTimeout(WAIT));
        try (DatagramLossRelay relay = new DatagramLossRelay(server.udpAddress())) {
            StreamClient client = clientThrough(relay);
            int lostBefore = 0;
            for (int i = 1; i <= 2; i++) {
                relay.loseFromServerUntilTheClientRepeats(DatagramLossRelay::carriesFinalFlight);
                try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
                    t.send(ByteBuffer.wrap(new byte[] {(byte) i}));
                    assertThat(receive(t)).as("tunnel %d", i).containsExactly(i);
                }
                assertThat(relay.lost()).as("datagrams lost by tunnel %d", i).isGreaterThan(lostBefore);
                lostBefore = relay.lost();
            }
        }
        assertThat(events.refusedCount()).isZero();
    }

    /**
     * A server that does not know a client's session (it restarted on the same address, or ended the session and its
     * close_notify was lost) answers the session's next record with a close_notify in the clear, and the client's
     * tunnel ends at once (receive gives the end) instead of sending into the void until it idles out; the answer is
     * counted as a datagram from an unauthenticated peer, and a new tunnel on the same path relays again.
     */
    @Test
    public void serverThatDoesNotKnowTheSession_endsTheClientsTunnel_andANewOneRelays() throws Exception {
        StreamServer first = startServer();
        StreamServer restarted = startServer();
        try (DatagramLossRelay relay = new DatagramLossRelay(first.udpAddress())) {
            StreamClient client = clientThrough(relay);
            try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
                t.send(ByteBuffer.wrap(new byte[] {1}));
                assertThat(receive(t)).containsExactly(1);
                relay.redirect(restarted.udpAddress());
                long before = events.unauthenticatedDrops().values().stream().mapToLong(Long::longValue).sum();
                t.send(ByteBuffer.wrap(new byte[] {2}));
                assertThat(receive(t)).as("the tunnel's end, within %s", WAIT).isNull();
                assertThat(events.unauthenticatedDrops().values().stream().mapToLong(Long::longValue).sum())
                        .as("the record of the unknown session, counted").isGreaterThan(before);
            }
            try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
                t.send(ByteBuffer.wrap(new byte[] {3}));
                assertThat(receive(t)).as("a new tunnel through the restarted server").containsExactly(3);
            }
        }
    }

    /**
     * A UDP probe whose answer is lost (the server's close_notify, which the Go agent sends once and a lossy path
     * may drop) still succeeds within its timeout: the probe sends its header again, and the server, which ended the
     * session, answers it with a close_notify in the clear.
     */
    @Test
    public void probe_succeeds_whenTheServersCloseNotifyIsLost() throws Exception {
        StreamServer server = startServer();
        try (DatagramLossRelay relay = new DatagramLossRelay(server.udpAddress())) {
            StreamClient client = clientThrough(relay);
            relay.loseFromServerUntilTheClientRepeats(DatagramLossRelay::carriesProtectedAlert);
            assertThat(client.probeUdp(Duration.ofSeconds(5))).isPositive();
            assertThat(relay.lost()).as("the server's close_notify, lost").isPositive();
        }
    }
}

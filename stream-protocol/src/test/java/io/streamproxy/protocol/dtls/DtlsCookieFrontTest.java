package io.streamproxy.protocol.dtls;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.TlsCredentials;
import io.streamproxy.pki.CertificateGenerator;
import io.streamproxy.pki.CertificateGenerator.Issued;
import io.streamproxy.pki.CertificateGenerator.Usage;
import io.streamproxy.protocol.dtls.DtlsCookieFront.Verdict;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The cookie front, with the ClientHellos of a real JDK DTLS client engine and no sockets. */
class DtlsCookieFrontTest {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);
    private static final long NOW = 1_000_000_000_000L;
    private static SSLContext serverContext;

    private DtlsCookieFront front;
    private int enginesMade;
    private final ByteBuffer reply = ByteBuffer.allocate(512);

    @BeforeAll
    static void context() throws Exception {
        Instant from = Instant.now().minusSeconds(60);
        Issued ca = CertificateGenerator.ca("CN=test CA", from, from.plusSeconds(3600));
        Issued leaf = CertificateGenerator.leaf(ca, "CN=server", from, from.plusSeconds(3600), Usage.SERVER,
                List.of("godoxy.agent"));
        serverContext = TlsCredentials.of(List.of(ca.certificate()), List.of(leaf.certificate()), leaf.key())
                .newSslContext("DTLSv1.2");
    }

    DtlsCookieFrontTest() {
        front = new DtlsCookieFront(() -> {
            enginesMade++;
            return DtlsEngines.server(serverContext);
        });
    }

    private static SSLEngine client() throws Exception {
        SSLContext c = SSLContext.getInstance("DTLSv1.2");
        c.init(null, null, null);
        SSLEngine e = c.createSSLEngine("localhost", 4433);
        e.setUseClientMode(true);
        e.beginHandshake();
        return e;
    }

    private static ByteBuffer wrap(SSLEngine e) throws Exception {
        ByteBuffer out = ByteBuffer.allocate(65536);
        SSLEngineResult r = e.wrap(ByteBuffer.allocate(0), out);
        assertThat(r.getStatus()).isEqualTo(SSLEngineResult.Status.OK);
        out.flip();
        return out;
    }

    /** Gives the client the HelloVerifyRequest and returns its ClientHello with the cookie. */
    private static ByteBuffer answer(SSLEngine e, ByteBuffer hvr) throws Exception {
        ByteBuffer sink = ByteBuffer.allocate(65536);
        e.unwrap(hvr.duplicate(), sink);
        while (e.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            e.getDelegatedTask().run();
        }
        return wrap(e);
    }

    @Test
    void firstHello_isAnsweredByAThrowawayEngine_noLargerThanItWas_andTheEchoedCookieVerifies() throws Exception {
        SSLEngine e = client();
        ByteBuffer hello = wrap(e);
        int size = hello.remaining();
        assertThat(front.check(hello, CLIENT, reply, NOW)).isEqualTo(Verdict.ANSWERED);
        assertThat(hello.remaining()).as("not moved").isEqualTo(size);
        assertThat(reply.remaining()).isLessThan(size);
        assertThat(reply.get(13)).as("HelloVerifyRequest").isEqualTo((byte) 3);
        assertThat(enginesMade).isEqualTo(1);
        ByteBuffer withCookie = answer(e, reply);
        assertThat(front.check(withCookie, CLIENT, reply, NOW)).isEqualTo(Verdict.VERIFIED);
        assertThat(enginesMade).as("verifying makes no engine").isEqualTo(1);
    }

    @Test
    void cookie_isBoundToAddressAndPort() throws Exception {
        SSLEngine e = client();
        front.check(wrap(e), CLIENT, reply, NOW);
        ByteBuffer withCookie = answer(e, reply);
        assertThat(front.check(withCookie, new InetSocketAddress("127.0.0.2", 40000), reply, NOW))
                .as("replayed from another address").isEqualTo(Verdict.ANSWERED);
        assertThat(reply.remaining()).as("no larger than the replay").isLessThan(withCookie.remaining());
        assertThat(front.check(withCookie, new InetSocketAddress("127.0.0.1", 40001), reply, NOW))
                .as("from another port").isEqualTo(Verdict.ANSWERED);
        assertThat(front.check(withCookie, CLIENT, reply, NOW)).isEqualTo(Verdict.VERIFIED);
    }

    /**
     * Clients whose cookies land in one bucket do not push each other out: with a table of one bucket, four clients
     * answered in turn (one of them twice, a retransmitted hello) all verify afterwards; a fifth then takes the
     * oldest entry, and that client is answered again. (A direct-mapped table let two concurrent clients that shared
     * an entry evict each other's cookie at every answer, and neither ever verified.)
     */
    @Test
    void clientsSharingABucket_allVerify_andAFifthTakesTheOldestEntry() throws Exception {
        front = new DtlsCookieFront(() -> DtlsEngines.server(serverContext), 4);
        List<SSLEngine> clients = new java.util.ArrayList<>();
        List<ByteBuffer> withCookies = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            clients.add(client());
            ByteBuffer hello = wrap(clients.get(i));
            assertThat(front.check(hello.duplicate(), port(i), reply, NOW)).isEqualTo(Verdict.ANSWERED);
            if (i == 1) {
                assertThat(front.check(hello, port(i), reply, NOW)).as("retransmitted").isEqualTo(Verdict.ANSWERED);
            }
            withCookies.add(answer(clients.get(i), reply));
            if (i == 3) {
                for (int k = 0; k < 4; k++) {
                    assertThat(front.check(withCookies.get(k), port(k), reply, NOW)).as("client %d", k)
                            .isEqualTo(Verdict.VERIFIED);
                }
            }
        }
        for (int k = 1; k < 5; k++) {
            assertThat(front.check(withCookies.get(k), port(k), reply, NOW)).as("client %d", k)
                    .isEqualTo(Verdict.VERIFIED);
        }
        assertThat(front.check(withCookies.get(0), port(0), reply, NOW)).as("the oldest, pushed out")
                .isEqualTo(Verdict.ANSWERED);
    }

    private static InetSocketAddress port(int i) {
        return new InetSocketAddress("127.0.0.1", 41000 + i);
    }

    @Test
    void helloRebuiltWithoutCookie_isTheFirstHelloAgain() throws Exception {
        SSLEngine e = client();
        ByteBuffer first = wrap(e);
        byte[] original = new byte[first.remaining()];
        first.duplicate().get(original);
        front.check(first, CLIENT, reply, NOW);
        ByteBuffer withCookie = answer(e, reply);
        ByteBuffer rebuilt = DtlsCookieFront.withoutCookie(withCookie);
        assertThat(DtlsCookieFront.isClientHello(rebuilt)).isTrue();
        byte[] got = new byte[rebuilt.remaining()];
        rebuilt.get(got);
        // the same hello but for the record sequence number (bytes 5..10), which the client counts on
        assertThat(got.length).isEqualTo(original.length);
        for (int i = 5; i < 11; i++) {
            got[i] = original[i];
        }
        assertThat(HexFormat.of().formatHex(got)).isEqualTo(HexFormat.of().formatHex(original));
    }

    @Test
    void anythingButAnInitialClientHello_isNotOne_andMakesNoEngine() {
        byte[] forged = HexFormat.of().parseHex("17fefd000100000000006342" + "68");
        assertThat(front.check(ByteBuffer.wrap(forged), CLIENT, reply, NOW)).isEqualTo(Verdict.NOT_A_CLIENT_HELLO);
        assertThat(front.check(ByteBuffer.allocate(0), CLIENT, reply, NOW)).isEqualTo(Verdict.NOT_A_CLIENT_HELLO);
        byte[] junk = new byte[300];
        junk[0] = 22;
        junk[1] = (byte) 0xfe;
        junk[2] = (byte) 0xfd;
        junk[11] = 1; // claims a 256-byte record
        junk[13] = 1; // a ClientHello with length 0 and nonsense after
        assertThat(front.check(ByteBuffer.wrap(junk), CLIENT, reply, NOW)).isEqualTo(Verdict.NOT_A_CLIENT_HELLO);
        assertThat(enginesMade).isZero();
    }

    @Test
    void epochOneHello_orALaterFragment_isNotAnInitialClientHello_butAFirstFragmentIs() throws Exception {
        ByteBuffer hello = wrap(client());
        ByteBuffer epoch1 = copy(hello);
        epoch1.put(4, (byte) 1);
        assertThat(DtlsCookieFront.isClientHello(epoch1)).isFalse();
        ByteBuffer later = copy(hello);
        later.put(21, (byte) 1); // a fragment that does not start the message
        assertThat(DtlsCookieFront.isClientHello(later)).isFalse();
        ByteBuffer first = copy(hello);
        first.put(24, (byte) (first.get(24) - 1)); // the first fragment of a longer hello
        assertThat(DtlsCookieFront.isClientHello(first)).isTrue();
        assertThat(front.check(first, CLIENT, reply, NOW)).as("a first fragment is answered")
                .isEqualTo(Verdict.ANSWERED);
        assertThat(DtlsCookieFront.isClientHello(hello)).isTrue();
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocate(b.remaining());
        c.put(b.duplicate()).flip();
        return c;
    }
}

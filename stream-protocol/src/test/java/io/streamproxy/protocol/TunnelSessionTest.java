package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.protocol.TunnelSession.Step;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import io.streamproxy.pki.CertificateGenerator;
import java.time.Instant;

/**
 * The session core driven with a fake clock and no sockets: every transition of {@link TunnelSession} and every
 * refusal, with the events its listener receives and the counters of {@link SessionCore}.
 */
class TunnelSessionTest {
    private static final long SECOND = 1_000_000_000L;
    private static final SocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);

    private final List<String> events = new ArrayList<>();
    private final List<Boolean> handshakes = new ArrayList<>();
    private final SessionListener listener = new SessionListener() {
        @Override
        public void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
            handshakes.add(resumed);
        }

        @Override
        public void sessionOpened(SessionInfo session) {
            events.add("opened " + session.destination());
        }

        @Override
        public void sessionClosed(SessionInfo session, long up, long down) {
            events.add("closed " + up + "/" + down);
        }

        @Override
        public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
            events.add("refused " + reason + ": " + detail);
        }

        @Override
        public void healthProbe(Protocol protocol, SocketAddress client) {
            events.add("probe");
        }
    };
    private long now = 1000 * SECOND;

    private static TlsCredentials credentials;

    private static synchronized TlsCredentials credentials() {
        if (credentials == null) {
            try {
                CertificateGenerator.Issued ca = CertificateGenerator.ca("CN=test CA", Instant.now(),
                        Instant.now().plusSeconds(3600));
                credentials = TlsCredentials.of(List.of(ca.certificate()), List.of(ca.certificate()), ca.key());
            } catch (java.security.GeneralSecurityException e) {
                throw new AssertionError(e);
            }
        }
        return credentials;
    }

    private SessionCore core(Protocol protocol, UnaryOperator<StreamServerOptions.Builder> customize) {
        StreamServerOptions.Builder b = StreamServerOptions.builder(credentials())
                .tcp(new InetSocketAddress(0)).headerTimeout(Duration.ofSeconds(10))
                .dialTimeout(Duration.ofSeconds(5)).udpIdleTimeout(Duration.ofSeconds(60));
        return new SessionCore(protocol, customize.apply(b).build(), listener);
    }

    private SessionCore core() {
        return core(Protocol.TCP, b -> b);
    }

    private static ByteBuffer header(String host, String port) {
        return ByteBuffer.wrap(HeaderCodec.encode(host, port, 0));
    }

    private static InetAddress ip(String text) throws UnknownHostException {
        return InetAddress.getByName(text); // literals only: no lookup
    }

    private TunnelSession handshaken(SessionCore core) {
        TunnelSession t = core.tryAccept(CLIENT, now);
        assertThat(t.handshakeDone(StreamProtocol.ALPN, "CN=client", now)).isEqualTo(Step.WAIT);
        return t;
    }

    @Test
    void literalDestination_dialsAtOnce_thenRelays_thenReportsClose() {
        SessionCore core = core();
        TunnelSession t = handshaken(core);
        assertThat(core.handshaking()).isEqualTo(1);
        assertThat(t.header(header("127.0.0.1", "8080"), now)).isEqualTo(Step.DIAL);
        assertThat(t.dialAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", 8080));
        assertThat(core.handshaking()).isZero();
        assertThat(core.activeSessions()).isEqualTo(1);
        assertThat(t.dialSucceeded(now)).isEqualTo(Step.RELAY);
        assertThat(t.info().destination()).isEqualTo(Destination.of("127.0.0.1", 8080));
        assertThat(t.identity()).isEqualTo("CN=client");
        t.directionEnded(TunnelSession.Direction.FROM_DESTINATION, now);
        assertThat(t.relayEnded("both directions ended", 10, 20, now)).isEqualTo(Step.END);
        assertThat(t.endedFirst()).isEqualTo(TunnelSession.Direction.FROM_DESTINATION);
        assertThat(core.activeSessions()).isZero();
        assertThat(events).containsExactly("opened 127.0.0.1:8080", "closed 10/20");
    }

    @Test
    void name_isResolved_thenEachAllowedAddressDialledInOrder() throws Exception {
        TunnelSession t = handshaken(core());
        assertThat(t.header(header("db.internal", "5432"), now)).isEqualTo(Step.RESOLVE);
        assertThat(t.destination()).isEqualTo(Destination.of("db.internal", 5432));
        assertThat(t.resolved(List.of(ip("10.0.0.1"), ip("10.0.0.2")), now + 1)).isEqualTo(Step.DIAL);
        assertThat(t.dialAddress()).isEqualTo(new InetSocketAddress(ip("10.0.0.1"), 5432));
        assertThat(t.dialFailed("connection refused", now + 2)).isEqualTo(Step.DIAL);
        assertThat(t.dialAddress()).isEqualTo(new InetSocketAddress(ip("10.0.0.2"), 5432));
        assertThat(t.dialFailed("no route", now + 3)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.DIAL_FAILED);
        assertThat(events).singleElement().asString()
                .contains("10.0.0.1: connection refused").contains("10.0.0.2: no route");
    }

    @Test
    void nameResolvingIntoDeniedRange_isPolicyDenied_andNothingDialled() throws Exception {
        DestinationPolicy denyLoopback = new DestinationPolicy() {
            @Override
            public boolean allows(Destination destination) {
                return true;
            }

            @Override
            public boolean allows(Destination destination, InetAddress address) {
                return !address.isLoopbackAddress();
            }
        };
        TunnelSession t = handshaken(core(Protocol.TCP, b -> b.policy(denyLoopback)));
        assertThat(t.header(header("localhost", "22"), now)).isEqualTo(Step.RESOLVE);
        assertThat(t.resolved(List.of(ip("127.0.0.1"), ip("::1")), now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.POLICY_DENIED);
        assertThat(t.dialAddress()).isNull();
    }

    @Test
    void deniedAddressAmongAllowed_isSkipped() throws Exception {
        DestinationPolicy policy = new DestinationPolicy() {
            @Override
            public boolean allows(Destination destination) {
                return true;
            }

            @Override
            public boolean allows(Destination destination, InetAddress address) {
                return !address.isLoopbackAddress();
            }
        };
        TunnelSession t = handshaken(core(Protocol.TCP, b -> b.policy(policy)));
        t.header(header("mixed.example", "80"), now);
        assertThat(t.resolved(List.of(ip("127.0.0.1"), ip("192.0.2.7")), now)).isEqualTo(Step.DIAL);
        assertThat(t.dialAddress().getAddress()).isEqualTo(ip("192.0.2.7"));
        assertThat(t.dialFailed("refused", now)).isEqualTo(Step.REFUSE);
    }

    @Test
    void literalInDeniedRange_isPolicyDenied() {
        DestinationPolicy policy = new DestinationPolicy() {
            @Override
            public boolean allows(Destination destination) {
                return true;
            }

            @Override
            public boolean allows(Destination destination, InetAddress address) {
                return !address.isLoopbackAddress();
            }
        };
        TunnelSession t = handshaken(core(Protocol.TCP, b -> b.policy(policy)));
        assertThat(t.header(header("::1", "22"), now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.POLICY_DENIED);
    }

    @Test
    void policyDenyingByName_refusesBeforeResolving() {
        TunnelSession t = handshaken(core(Protocol.TCP, b -> b.policy(d -> !d.host().endsWith(".corp"))));
        assertThat(t.header(header("x.corp", "80"), now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.POLICY_DENIED);
    }

    @Test
    void policyThatThrows_denies() {
        TunnelSession t = handshaken(core(Protocol.TCP, b -> b.policy(d -> {
            throw new IllegalStateException("broken");
        })));
        assertThat(t.header(header("x.example", "80"), now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.POLICY_DENIED);
    }

    @Test
    void lenientNumericHosts_areBadDestinations_neverResolved() {
        for (String host : List.of("127.1", "2130706433", "0127.0.0.1", "127.000.000.001", "0", "1.2.3.4.5",
                "x:y.example")) {
            TunnelSession t = handshaken(core());
            assertThat(t.header(header(host, "80"), now)).as(host).isEqualTo(Step.REFUSE);
            assertThat(t.refusalReason()).as(host).isEqualTo(RefusalReason.BAD_DESTINATION);
        }
    }

    @Test
    void probe_endsQuietly_andFreesTheHandshakeSlot() {
        SessionCore core = core();
        TunnelSession t = handshaken(core);
        assertThat(t.header(ByteBuffer.wrap(HeaderCodec.healthProbe()), now)).isEqualTo(Step.PROBE);
        assertThat(core.handshaking()).isZero();
        assertThat(core.activeSessions()).isZero();
        assertThat(events).containsExactly("probe");
    }

    @Test
    void probe_whileDraining_isRefusedWithAReset_notAnsweredAsHealthy() {
        SessionCore core = core();
        TunnelSession t = handshaken(core);
        core.drain();
        assertThat(t.header(ByteBuffer.wrap(HeaderCodec.healthProbe()), now)).isEqualTo(Step.RESET);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.DRAINING);
        assertThat(t.isEnded()).isTrue();
        assertThat(core.handshaking()).isZero();
        assertThat(events).singleElement().asString().startsWith("refused DRAINING");
    }

    @Test
    void invalidChecksum_isInvalidHeader() {
        byte[] h = HeaderCodec.encode("example.com", "443", 0);
        h[272] ^= 4;
        TunnelSession t = handshaken(core());
        assertThat(t.header(ByteBuffer.wrap(h), now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.INVALID_HEADER);
    }

    @Test
    void shortFirstRecordOnUdp_isInvalidHeader_namingItsSize() {
        TunnelSession t = core(Protocol.UDP, b -> b).tryAccept(CLIENT, now);
        t.handshakeDone(null, (String) null, now);
        assertThat(t.header(ByteBuffer.allocate(100), now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.INVALID_HEADER);
        assertThat(t.detail()).isEqualTo("first record is 100 bytes, a header is 275");
    }

    private static java.security.cert.Certificate[] clientChain(Instant from, Instant to) throws Exception {
        CertificateGenerator.Issued ca = CertificateGenerator.ca("CN=chain CA", Instant.now().minusSeconds(7200),
                Instant.now().plusSeconds(7200));
        CertificateGenerator.Issued leaf = CertificateGenerator.leaf(ca, "CN=chain client", from, to,
                CertificateGenerator.Usage.CLIENT, List.of());
        return new java.security.cert.Certificate[] {leaf.certificate(), ca.certificate()};
    }

    @Test
    void chainWithinItsDates_isLetIn_andTheHandshakeReportedWithWhetherItResumed() throws Exception {
        java.security.cert.Certificate[] chain = clientChain(Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(3600));
        TunnelSession full = core().tryAccept(CLIENT, now);
        assertThat(full.handshakeDone(StreamProtocol.ALPN, chain, false, now)).isEqualTo(Step.WAIT);
        assertThat(full.identity()).isEqualTo("CN=chain client");
        TunnelSession resumed = core().tryAccept(CLIENT, now);
        assertThat(resumed.handshakeDone(StreamProtocol.ALPN, chain, true, now)).isEqualTo(Step.WAIT);
        assertThat(handshakes).containsExactly(false, true);
    }

    @Test
    void resumedSession_whoseCertificateExpiredSince_isHandshakeFailed_andNotReportedAsAHandshake()
            throws Exception {
        java.security.cert.Certificate[] chain = clientChain(Instant.now().minusSeconds(7200),
                Instant.now().minusSeconds(60));
        TunnelSession t = core().tryAccept(CLIENT, now);
        assertThat(t.handshakeDone(StreamProtocol.ALPN, chain, true, now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(t.detail()).contains("CN=chain client").contains("not now")
                .contains("a resumed session outlived it");
        assertThat(handshakes).isEmpty();
    }

    @Test
    void routedConnection_withACertificateNotYetValid_isRefused_elseHandedOver() throws Exception {
        TunnelSession early = core().tryAccept(CLIENT, now);
        assertThat(early.routed(clientChain(Instant.now().plusSeconds(600), Instant.now().plusSeconds(7200)),
                true, now)).isEqualTo(Step.REFUSE);
        assertThat(early.refusalReason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        TunnelSession fine = core().tryAccept(CLIENT, now);
        assertThat(fine.routed(clientChain(Instant.now().minusSeconds(60), Instant.now().plusSeconds(600)),
                false, now)).isEqualTo(Step.END);
        assertThat(handshakes).containsExactly(false);
    }

    @Test
    void wrongAlpn_onTcp_isHandshakeFailed() {
        TunnelSession t = core().tryAccept(CLIENT, now);
        assertThat(t.handshakeDone("http/1.1", (String) null, now)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(t.detail()).contains("godoxy-agent-stream/1").contains("http/1.1");
    }

    @Test
    void noAlpn_onUdp_isFine() {
        TunnelSession t = core(Protocol.UDP, b -> b).tryAccept(CLIENT, now);
        assertThat(t.handshakeDone(null, (String) null, now)).isEqualTo(Step.WAIT);
    }

    @Test
    void handshakeFailure_isHandshakeFailed_beforeTheDeadline_andTimeoutAfter() {
        SessionCore core = core();
        TunnelSession early = core.tryAccept(CLIENT, now);
        assertThat(early.handshakeFailed("bad certificate", now + SECOND)).isEqualTo(Step.REFUSE);
        assertThat(early.refusalReason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        TunnelSession late = core.tryAccept(CLIENT, now);
        assertThat(late.handshakeFailed("closed", now + 10 * SECOND)).isEqualTo(Step.REFUSE);
        assertThat(late.refusalReason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
        assertThat(core.handshaking()).isZero();
    }

    @Test
    void oneDeadlineFromAccept_coversHandshakePlusHeader() {
        TunnelSession t = core().tryAccept(CLIENT, now);
        assertThat(t.nextDeadline()).isEqualTo(now + 10 * SECOND);
        assertThat(t.tick(now + 6 * SECOND)).isEqualTo(Step.WAIT);
        assertThat(t.handshakeDone(StreamProtocol.ALPN, (String) null, now + 6 * SECOND)).isEqualTo(Step.WAIT);
        assertThat(t.nextDeadline()).isEqualTo(now + 10 * SECOND); // not restarted by the handshake
        assertThat(t.tick(now + 10 * SECOND)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
        assertThat(t.detail()).isEqualTo("no header within 10s");
    }

    @Test
    void headerAfterTheDeadline_isRefusedAsTimeout() {
        TunnelSession t = handshaken(core());
        assertThat(t.header(header("127.0.0.1", "80"), now + 11 * SECOND)).isEqualTo(Step.REFUSE);
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.HEADER_TIMEOUT);
    }

    @Test
    void handshakeNotDoneByTheDeadline_isTimeout() {
        TunnelSession t = core().tryAccept(CLIENT, now);
        assertThat(t.tick(now + 10 * SECOND)).isEqualTo(Step.REFUSE);
        assertThat(t.detail()).isEqualTo("no TLS handshake within 10s");
        assertThat(t.handshakeFailed("socket closed", now + 10 * SECOND)).isEqualTo(Step.END);
        assertThat(events).hasSize(1);
    }

    @Test
    void dialTimeout_boundsResolvingAndDialling() throws Exception {
        TunnelSession slow = handshaken(core());
        slow.header(header("slow.example", "80"), now);
        assertThat(slow.nextDeadline()).isEqualTo(now + 5 * SECOND);
        assertThat(slow.tick(now + 5 * SECOND)).isEqualTo(Step.REFUSE);
        assertThat(slow.refusalReason()).isEqualTo(RefusalReason.DIAL_FAILED);
        assertThat(slow.resolved(List.of(ip("10.0.0.1")), now + 6 * SECOND)).isEqualTo(Step.END);

        TunnelSession t = handshaken(core());
        t.header(header("a.example", "80"), now);
        t.resolved(List.of(ip("10.0.0.1"), ip("10.0.0.2")), now + SECOND);
        assertThat(t.dialMillisLeft(now + SECOND)).isEqualTo(4000);
        assertThat(t.dialFailed("timed out", now + 5 * SECOND)).isEqualTo(Step.REFUSE); // no time for the next
        assertThat(t.refusalReason()).isEqualTo(RefusalReason.DIAL_FAILED);
    }

    @Test
    void resolveFailure_andEmptyAnswer_areDialFailed() {
        TunnelSession t = handshaken(core());
        t.header(header("nx.example", "80"), now);
        assertThat(t.resolveFailed("unknown host", now)).isEqualTo(Step.REFUSE);
        assertThat(t.detail()).isEqualTo("resolving nx.example: unknown host");
        TunnelSession e = handshaken(core());
        e.header(header("empty.example", "80"), now);
        assertThat(e.resolved(List.of(), now)).isEqualTo(Step.REFUSE);
        assertThat(e.refusalReason()).isEqualTo(RefusalReason.DIAL_FAILED);
    }

    @Test
    void handshakeLimit_isAtomic_andFreedOnEveryEnd() {
        SessionCore core = core(Protocol.TCP, b -> b.maxHandshakes(2));
        TunnelSession a = core.tryAccept(CLIENT, now);
        TunnelSession b = core.tryAccept(CLIENT, now);
        assertThat(core.tryAccept(CLIENT, now)).isNull();
        assertThat(events).containsExactly("refused CAPACITY: at the limit of 2 handshakes");
        a.handshakeFailed("x", now);
        b.close("server closed");
        assertThat(core.handshaking()).isZero();
        assertThat(core.tryAccept(CLIENT, now)).isNotNull();
    }

    @Test
    void sessionLimit_refusesAtTheHeader_andIsFreedAtTheEnd() {
        SessionCore core = core(Protocol.TCP, b -> b.maxSessions(1));
        TunnelSession first = handshaken(core);
        first.header(header("10.0.0.1", "80"), now);
        TunnelSession second = handshaken(core);
        assertThat(second.header(header("10.0.0.1", "80"), now)).isEqualTo(Step.REFUSE);
        assertThat(second.refusalReason()).isEqualTo(RefusalReason.CAPACITY);
        first.dialFailed("refused", now);
        TunnelSession third = handshaken(core);
        assertThat(third.header(header("10.0.0.1", "80"), now)).isEqualTo(Step.DIAL);
    }

    @Test
    void clientEnding_beforeTheHeader_isRefused_whileDialling_isRemembered() {
        TunnelSession during = core().tryAccept(CLIENT, now);
        assertThat(during.clientEnded(0, now)).isEqualTo(Step.REFUSE);
        assertThat(during.refusalReason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        TunnelSession partial = handshaken(core());
        assertThat(partial.clientEnded(100, now)).isEqualTo(Step.REFUSE);
        assertThat(partial.detail()).isEqualTo("client closed after 100 header bytes");
        TunnelSession dialling = handshaken(core());
        dialling.header(header("10.0.0.1", "80"), now);
        assertThat(dialling.clientEnded(275, now)).isEqualTo(Step.WAIT);
        assertThat(dialling.clientEndedEarly()).isTrue();
        assertThat(dialling.dialSucceeded(now)).isEqualTo(Step.RELAY);
    }

    @Test
    void routedConnection_leavesTheCore_quietly() {
        SessionCore core = core();
        TunnelSession t = core.tryAccept(CLIENT, now);
        assertThat(t.routed(now)).isEqualTo(Step.END);
        assertThat(core.handshaking()).isZero();
        assertThat(events).isEmpty();
    }

    @Test
    void udpSession_idlesOut_onlyWithoutRelayedTraffic() {
        TunnelSession t = core(Protocol.UDP, b -> b).tryAccept(CLIENT, now);
        t.handshakeDone(null, (String) null, now);
        t.header(header("10.0.0.1", "53"), now);
        t.dialSucceeded(now);
        t.relayedToDestination(100, now + 30 * SECOND);
        assertThat(t.tick(now + 60 * SECOND)).isEqualTo(Step.WAIT);
        t.relayedFromDestination(50, now + 80 * SECOND);
        assertThat(t.nextDeadline()).isEqualTo(now + 140 * SECOND);
        assertThat(t.tick(now + 140 * SECOND)).isEqualTo(Step.END);
        assertThat(t.datagramsToDestination()).isEqualTo(1);
        assertThat(t.datagramsFromDestination()).isEqualTo(1);
        assertThat(events).containsExactly("opened 10.0.0.1:53", "closed 100/50");
    }

    @Test
    void tcpRelay_neverIdlesOut_byDefault() {
        TunnelSession t = handshaken(core());
        t.header(header("10.0.0.1", "80"), now);
        t.dialSucceeded(now);
        assertThat(t.nextDeadline()).isEqualTo(Long.MAX_VALUE);
        assertThat(t.tick(now + 3600 * SECOND)).isEqualTo(Step.WAIT);
    }

    @Test
    void lateDialSuccess_afterTheSessionEnded_isEnd() {
        TunnelSession t = handshaken(core());
        t.header(header("10.0.0.1", "80"), now);
        t.close("server closed");
        assertThat(t.dialSucceeded(now)).isEqualTo(Step.END);
        assertThat(events).isEmpty();
    }

    @Test
    void closingServer_reportsNoRefusals_butStillReportsClosedSessions() {
        SessionCore core = core();
        TunnelSession relaying = handshaken(core);
        relaying.header(header("10.0.0.1", "80"), now);
        relaying.dialSucceeded(now);
        TunnelSession pending = handshaken(core);
        core.closing();
        assertThat(core.tryAccept(CLIENT, now)).isNull();
        assertThat(pending.failed("socket closed", now)).isEqualTo(Step.REFUSE);
        assertThat(relaying.close("server closed")).isEqualTo(Step.END);
        assertThat(events).containsExactly("opened 10.0.0.1:80", "closed 0/0");
    }

    @Test
    void draining_refusesNewHeaders_keepsLiveSessions_andDropsNewUdpAddresses() {
        SessionCore core = core();
        TunnelSession live = handshaken(core);
        live.header(header("10.0.0.1", "80"), now);
        live.dialSucceeded(now);
        TunnelSession late = handshaken(core);
        core.drain();
        assertThat(core.isDraining()).isTrue();
        assertThat(late.header(header("10.0.0.1", "80"), now)).isEqualTo(Step.REFUSE);
        assertThat(late.refusalReason()).isEqualTo(RefusalReason.DRAINING);
        assertThat(core.tryAccept(CLIENT, now)).as("TCP still accepts: routes answer while draining").isNotNull();
        assertThat(live.isRelaying()).isTrue();
        assertThat(core.activeSessions()).isEqualTo(1);

        List<String> drops = new ArrayList<>();
        SessionCore udp = new SessionCore(Protocol.UDP, StreamServerOptions.builder(credentials())
                .udp(new InetSocketAddress(0)).build(), new SessionListener() {
                    @Override
                    public void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
                        drops.add(reason);
                    }
                });
        udp.drain();
        assertThat(udp.tryAccept(CLIENT, now)).isNull();
        assertThat(drops).containsExactly(SessionCore.DROP_DRAINING);
    }

    @Test
    void sessionsPerSource_areLimited_otherSourcesAreNot_andASlotFreesAtTheEnd() {
        SessionCore core = core(Protocol.TCP, b -> b.maxSessionsPerSource(2));
        TunnelSession a = handshaken(core);
        assertThat(a.header(header("10.0.0.1", "80"), now)).isEqualTo(Step.DIAL);
        assertThat(handshaken(core).header(header("10.0.0.1", "80"), now)).isEqualTo(Step.DIAL);
        TunnelSession third = handshaken(core);
        assertThat(third.header(header("10.0.0.1", "80"), now)).isEqualTo(Step.REFUSE);
        assertThat(third.refusalReason()).isEqualTo(RefusalReason.SOURCE_LIMIT);
        TunnelSession other = core.tryAccept(new InetSocketAddress("127.0.0.2", 1), now);
        other.handshakeDone(StreamProtocol.ALPN, (String) null, now);
        assertThat(other.header(header("10.0.0.1", "80"), now)).as("another source").isEqualTo(Step.DIAL);
        a.dialFailed("refused", now);
        assertThat(handshaken(core).header(header("10.0.0.1", "80"), now)).isEqualTo(Step.DIAL);
        assertThat(core.activeSessions()).isEqualTo(3);
    }

    @Test
    void handshakeRate_isATokenBucket_forTheServer_andEachSource() {
        SessionCore core = core(Protocol.TCP, b -> b.handshakeRate(10, 3).handshakeRatePerSource(1, 2));
        SocketAddress b1 = new InetSocketAddress("127.0.0.2", 1);
        SocketAddress c1 = new InetSocketAddress("127.0.0.3", 1);
        assertThat(core.tryAccept(CLIENT, now)).isNotNull();
        assertThat(core.tryAccept(CLIENT, now)).isNotNull();
        assertThat(core.tryAccept(CLIENT, now)).as("the source's burst of 2 is spent").isNull();
        assertThat(events).last().asString().startsWith("refused RATE_LIMITED").contains("per source");
        assertThat(core.tryAccept(b1, now)).as("the server's third token").isNotNull();
        assertThat(core.tryAccept(c1, now)).as("the server's burst of 3 is spent").isNull();
        assertThat(events).last().asString().startsWith("refused RATE_LIMITED").doesNotContain("per source");
        now += SECOND / 10; // one server token back
        assertThat(core.tryAccept(c1, now)).isNotNull();
        assertThat(core.tryAccept(CLIENT, now)).as("the source has 0.1 token").isNull();
        now += SECOND;
        assertThat(core.accept(CLIENT, now, t -> { })).as("a token back for source and server").isNotNull();

        List<String> drops = new ArrayList<>();
        SessionCore udp = new SessionCore(Protocol.UDP, StreamServerOptions.builder(credentials())
                .udp(new InetSocketAddress(0)).handshakeRate(1, 1).build(), new SessionListener() {
                    @Override
                    public void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
                        drops.add(reason);
                    }
                });
        assertThat(udp.tryAccept(CLIENT, now)).isNotNull();
        assertThat(udp.tryAccept(b1, now)).isNull();
        assertThat(drops).containsExactly(SessionCore.DROP_RATE);
    }

    private TunnelSession relaying(SessionCore core) {
        TunnelSession t = handshaken(core);
        t.header(header("10.0.0.1", "80"), now);
        t.dialSucceeded(now);
        return t;
    }

    @Test
    void tcpBounds_endTheTunnel_andTheRelaysEndReportsItsBytesWithTheBoundAsReason() {
        SessionCore lifetime = core(Protocol.TCP, b -> b.maxTunnelLifetime(Duration.ofSeconds(30)));
        TunnelSession t = relaying(lifetime);
        t.touch(now + 29 * SECOND);
        assertThat(t.nextDeadline()).isEqualTo(now + 30 * SECOND);
        assertThat(t.tick(now + 29 * SECOND)).isEqualTo(Step.WAIT);
        assertThat(t.tick(now + 30 * SECOND)).as("busy or not").isEqualTo(Step.END);
        assertThat(t.isEnded()).as("ended only when the relay reports its bytes").isFalse();
        assertThat(t.nextDeadline()).isEqualTo(Long.MAX_VALUE);
        t.relayEnded("failed", 5, 6, now + 30 * SECOND);
        assertThat(t.detail()).isEqualTo("reached the maximum lifetime of 30s");
        assertThat(events).last().isEqualTo("closed 5/6");

        SessionCore idle = core(Protocol.TCP, b -> b.tcpIdleTimeout(Duration.ofSeconds(10)));
        TunnelSession quiet = relaying(idle);
        assertThat(quiet.nextDeadline()).isEqualTo(now + 10 * SECOND);
        quiet.touch(now + 8 * SECOND);
        assertThat(quiet.tick(now + 10 * SECOND)).as("bytes moved at 8 s").isEqualTo(Step.WAIT);
        assertThat(quiet.nextDeadline()).isEqualTo(now + 18 * SECOND);
        assertThat(quiet.tick(now + 18 * SECOND)).isEqualTo(Step.END);
        quiet.relayEnded("closed", 0, 0, now + 18 * SECOND);
        assertThat(quiet.detail()).isEqualTo("idle for 10s");

        SessionCore half = core(Protocol.TCP, b -> b.halfCloseTimeout(Duration.ofSeconds(5)));
        TunnelSession open = relaying(half);
        assertThat(open.tick(now + 3600 * SECOND)).as("both directions open: no bound").isEqualTo(Step.WAIT);
        open.directionEnded(TunnelSession.Direction.TO_DESTINATION, now + 100 * SECOND);
        assertThat(open.nextDeadline()).isEqualTo(now + 105 * SECOND);
        assertThat(open.tick(now + 104 * SECOND)).isEqualTo(Step.WAIT);
        assertThat(open.tick(now + 105 * SECOND)).isEqualTo(Step.END);
        open.relayEnded("closed", 1, 0, now + 105 * SECOND);
        assertThat(open.detail()).isEqualTo("half-closed for 5s");
    }

    @Test
    void throwingListener_doesNotBreakTheCore() {
        SessionListener bad = new SessionListener() {
            @Override
            public void sessionRefused(Protocol p, SocketAddress c, RefusalReason r, String d) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void sessionOpened(SessionInfo session) {
                throw new IllegalStateException("listener bug");
            }
        };
        SessionCore core = new SessionCore(Protocol.TCP, StreamServerOptions.builder(credentials())
                .tcp(new InetSocketAddress(0)).build(), bad);
        TunnelSession t = core.tryAccept(CLIENT, now);
        t.handshakeDone(StreamProtocol.ALPN, (String) null, now);
        t.header(header("10.0.0.1", "80"), now);
        assertThat(t.dialSucceeded(now)).isEqualTo(Step.RELAY);
        TunnelSession r = core.tryAccept(CLIENT, now);
        assertThat(r.handshakeFailed("x", now)).isEqualTo(Step.REFUSE);
    }

    @Test
    void tcpBurst_overTheSourceLimit_waitsForASlot_inOrder_withoutARefusal() {
        SessionCore core = core(Protocol.TCP, b -> b.maxHandshakes(4).maxHandshakesPerSource(2));
        List<TunnelSession> started = new ArrayList<>();
        TunnelSession a = core.accept(CLIENT, now, started::add);
        TunnelSession b = core.accept(CLIENT, now, started::add);
        TunnelSession c = core.accept(CLIENT, now, started::add);
        TunnelSession d = core.accept(CLIENT, now, started::add);
        assertThat(started).as("at half the slots, the source's limit applies").containsExactly(a, b);
        assertThat(c.isWaiting()).isTrue();
        assertThat(core.handshaking()).isEqualTo(2);
        assertThat(core.waiting()).isEqualTo(2);
        // another source is not held up by the first one's waiting connections
        SocketAddress other = new InetSocketAddress("127.0.0.2", 40000);
        TunnelSession e = core.accept(other, now, started::add);
        assertThat(started).containsExactly(a, b, e);
        a.handshakeFailed("x", now);
        assertThat(started).containsExactly(a, b, e, c);
        assertThat(c.isWaiting()).isFalse();
        b.close("server closed");
        assertThat(started).containsExactly(a, b, e, c, d);
        assertThat(core.waiting()).isZero();
        assertThat(events).containsExactly("refused HANDSHAKE_FAILED: x");
    }

    @Test
    void waitingConnection_refusedForCapacityAtItsDeadline_andLeavesTheQueue() {
        SessionCore core = core(Protocol.TCP, b -> b.maxHandshakes(2).maxHandshakesPerSource(1));
        List<TunnelSession> started = new ArrayList<>();
        TunnelSession holder = core.accept(CLIENT, now, started::add);
        TunnelSession waiting = core.accept(CLIENT, now, started::add);
        assertThat(waiting.nextDeadline()).isEqualTo(now + StreamServerOptions.DEFAULT_HEADER_TIMEOUT.toNanos());
        assertThat(waiting.tick(now + StreamServerOptions.DEFAULT_HEADER_TIMEOUT.toNanos()))
                .isEqualTo(Step.REFUSE);
        assertThat(waiting.refusalReason()).isEqualTo(RefusalReason.CAPACITY);
        assertThat(core.waiting()).isZero();
        holder.handshakeFailed("x", now);
        assertThat(started).containsExactly(holder);
        assertThat(core.handshaking()).isZero();
    }

    @Test
    void waitingConnection_getsAFullDeadline_whenItsSlotComes() {
        long[] clock = {now};
        SessionCore core = new SessionCore(Protocol.TCP, StreamServerOptions.builder(credentials())
                .tcp(new InetSocketAddress(0)).maxHandshakes(8).maxHandshakesPerSource(1).build(), listener,
                () -> clock[0]);
        long timeout = StreamServerOptions.DEFAULT_HEADER_TIMEOUT.toNanos();
        TunnelSession[] holders = new TunnelSession[4];
        for (int i = 0; i < 4; i++) {
            holders[i] = core.accept(CLIENT, now, t -> { }); // under half the slots: no per-source limit yet
        }
        TunnelSession waiting = core.accept(CLIENT, now, t -> { });
        assertThat(waiting.isWaiting()).as("half the slots held: the source's limit of 1 applies").isTrue();
        clock[0] = now + timeout - SECOND;
        holders[0].handshakeFailed("x", clock[0]);
        assertThat(waiting.isWaiting()).isFalse();
        assertThat(waiting.nextDeadline()).isEqualTo(clock[0] + timeout);
        assertThat(waiting.tick(now + timeout)).isEqualTo(Step.WAIT);
    }

    @Test
    void saturation_pausesAccepting_andTheSignalComesWhenASlotFrees() {
        SessionCore core = core(Protocol.TCP, b -> b.maxHandshakes(2).maxHandshakesPerSource(2));
        List<String> signals = new ArrayList<>();
        core.onCapacity(() -> signals.add("resume"));
        TunnelSession a = core.accept(CLIENT, now, t -> { });
        assertThat(core.saturated()).isFalse();
        core.accept(new InetSocketAddress("127.0.0.2", 1), now, t -> { });
        assertThat(core.saturated()).isTrue();
        a.close("client left");
        assertThat(core.saturated()).isFalse();
        assertThat(signals).containsExactly("resume");
    }

    @Test
    void udpOverTheSourceLimit_isDroppedAndCounted_notRefused() {
        List<String> drops = new ArrayList<>();
        SessionCore core = new SessionCore(Protocol.UDP, StreamServerOptions.builder(credentials())
                .udp(new InetSocketAddress(0)).maxHandshakes(2).maxHandshakesPerSource(1).build(),
                new SessionListener() {
                    @Override
                    public void sessionRefused(Protocol p, SocketAddress c, RefusalReason r, String d) {
                        drops.add("refused " + r);
                    }

                    @Override
                    public void unauthenticatedDropped(Protocol p, SocketAddress source, String reason) {
                        drops.add(reason);
                    }
                });
        assertThat(core.tryAccept(CLIENT, now)).isNotNull();
        assertThat(core.tryAccept(CLIENT, now)).isNull();
        assertThat(core.tryAccept(new InetSocketAddress("127.0.0.2", 40000), now)).isNotNull();
        assertThat(drops).containsExactly(SessionCore.DROP_SOURCE_LIMIT);
    }

    @Test
    void ipv6Sources_countPerSlash64() {
        Object a = SessionCore.sourceKey(new InetSocketAddress("2001:db8:1:2::1", 1));
        Object b = SessionCore.sourceKey(new InetSocketAddress("2001:db8:1:2:ffff::9", 2));
        Object c = SessionCore.sourceKey(new InetSocketAddress("2001:db8:1:3::1", 1));
        assertThat(a).isEqualTo(b).isNotEqualTo(c);
        assertThat(SessionCore.sourceKey(new InetSocketAddress("10.0.0.1", 1)))
                .isEqualTo(SessionCore.sourceKey(new InetSocketAddress("10.0.0.1", 2)))
                .isNotEqualTo(SessionCore.sourceKey(new InetSocketAddress("10.0.0.2", 1)));
    }
}

package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.TlsRoute;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The API route without sockets: a connection cap, and an undecodable request answered 400 and closed. */
class HttpApiRouteTest {
    /** A route channel that records what the route does. */
    private static final class FakeChannel implements TlsRoute.Channel {
        final StringBuilder written = new StringBuilder();
        boolean closed;

        @Override
        public SocketAddress remoteAddress() {
            return new InetSocketAddress("127.0.0.1", 1);
        }

        @Override
        public String applicationProtocol() {
            return "http/1.1";
        }

        @Override
        public List<Certificate> peerCertificates() {
            return List.of();
        }

        @Override
        public void write(ByteBuffer data) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            written.append(new String(b, StandardCharsets.ISO_8859_1));
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static ByteBuffer ascii(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void connectionsPastTheCap_areClosedAtOnce_andASlotFreesWhenOneCloses() {
        HttpApiRoute route = new HttpApiRoute(new Metrics(), null);
        List<TlsRoute.Connection> open = new ArrayList<>();
        for (int i = 0; i < HttpApiRoute.MAX_CONNECTIONS; i++) {
            FakeChannel c = new FakeChannel();
            open.add(route.open(c));
            assertThat(c.closed).isFalse();
        }
        FakeChannel over = new FakeChannel();
        route.open(over);
        assertThat(over.closed).as("one past the cap").isTrue();
        open.get(0).closed();
        FakeChannel again = new FakeChannel();
        TlsRoute.Connection served = route.open(again);
        assertThat(again.closed).isFalse();
        served.received(ascii("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertThat(again.written.toString()).startsWith("HTTP/1.1 200");
    }

    @Test
    void undecodableRequest_isAnswered400_andTheConnectionClosed() {
        HttpApiRoute route = new HttpApiRoute(new Metrics(), null);
        FakeChannel c = new FakeChannel();
        TlsRoute.Connection conn = route.open(c);
        conn.received(ascii("GET /healthz HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n"));
        assertThat(c.written.toString()).startsWith("HTTP/1.1 400");
        assertThat(c.closed).isTrue();
    }

    @Test
    void healthz_answers503Draining_whileTheServerDrains() {
        ServerHealth health = new ServerHealth(io.streamproxy.testkit.TestPki.shared().serverCredentials());
        HttpApiRoute route = new HttpApiRoute(new Metrics(), null, () -> health.problem(java.time.Instant.now()));
        FakeChannel before = new FakeChannel();
        route.open(before).received(ascii("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertThat(before.written.toString()).startsWith("HTTP/1.1 200").endsWith("ok");
        health.draining();
        FakeChannel during = new FakeChannel();
        route.open(during).received(ascii("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertThat(during.written.toString()).startsWith("HTTP/1.1 503").endsWith("draining");
    }
}

package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Timeouts and failed dials over TCP: an unanswered destination ends within the dial timeout, a refused port at once,
 * and a client that never starts TLS or never finishes its header is closed after the header timeout.
 */
public abstract class TcpTimeoutKit extends TcpKitBase {
    @Test
    public void unreachableDestination_clientSeesCloseWithinDialTimeout() throws Exception {
        UnansweredTcpPort blackhole = closeLater(new UnansweredTcpPort());
        StreamServer server = startServer();
        long start = System.nanoTime();
        try (TcpTunnel t = open(client(server), blackhole.address().getAddress().getHostAddress(),
                blackhole.address().getPort())) {
            t.setReadTimeout(DIAL_TIMEOUT.plusSeconds(5));
            try {
                while (t.input().read() >= 0) {
                    // nothing comes from an unanswered destination: read on until the close
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the server kept a tunnel to an unanswered destination open past the dial"
                        + " timeout (" + DIAL_TIMEOUT + ") + 5 s: a dial must give up at the dial timeout", e);
            } catch (java.io.IOException e) {
                // reset or TLS alert: closed
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).as("time until the server gave up dialling an unanswered destination (dial timeout %s)",
                DIAL_TIMEOUT).isGreaterThanOrEqualTo(DIAL_TIMEOUT.minusMillis(100))
                .isLessThan(DIAL_TIMEOUT.plusSeconds(5));
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.DIAL_FAILED);
    }

    @Test
    public void refusedDestinationPort_clientSeesCloseAtOnce() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        StreamServer server = startServer();
        try (TcpTunnel t = open(client(server), "127.0.0.1", closedPort)) {
            assertClosedByServer(t.input());
        }
        RecordingListener.Refusal r = events.awaitRefusal(WAIT);
        assertThat(r.reason()).isEqualTo(RefusalReason.DIAL_FAILED);
        assertThat(r.detail()).contains("127.0.0.1:" + closedPort);
    }

    @Test
    public void clientThatNeverStartsTls_isClosedAfterHeaderTimeout() throws Exception {
        StreamServer server = startServer();
        assertSilentClientClosedAfterHeaderTimeout(server);
    }

    @Test
    public void clientThatNeverSendsHeader_isClosedAfterHeaderTimeout() throws Exception {
        StreamServer server = startServer();
        long start = System.nanoTime();
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(WireHeaders.valid(echo.host(), "1", 0), 0, 100);
            s.getOutputStream().flush();
            assertClosedAfterHeaderTimeout(s, start, "a client that sent 100 of the 275 header bytes");
        }
        assertThat(echo.connectionCount()).isZero();
    }
}

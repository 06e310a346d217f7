package io.streamproxy.testkit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * What the TCP-over-TLS kits share: the kit's timeouts, an echo destination per test, servers and clients of the
 * provider under test, the capability hooks a transport overrides to declare what it documents it does not offer,
 * and helpers. Each concern has its own kit that extends this class: {@link TcpRelayKit}, {@link TcpHalfCloseKit},
 * {@link TcpHeaderValidationKit}, {@link TcpAuthenticationKit}, {@link TcpTimeoutKit}, {@link TcpResourceKit} and
 * {@link TcpOutsidePeersKit}. A transport runs them all with one small subclass of each per configuration, for
 * example {@code class JdkTcpRelayTest extends TcpRelayKit { provider() -> new JdkTransportProvider() }}. Every
 * wait is bounded.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class TcpKitBase extends ConformanceKitBase {
    /** The header timeout the kit's servers use, short so that timeout cases run fast. */
    protected static final Duration HEADER_TIMEOUT = Duration.ofMillis(1500);
    /** The dial timeout the kit's servers use. */
    protected static final Duration DIAL_TIMEOUT = Duration.ofMillis(1500);
    /** The bound on any single wait for an event. */
    protected static final Duration WAIT = Duration.ofSeconds(20);

    /** An echo destination. */
    protected TcpDestination echo;

    /**
     * Tells whether the transport's server accepts TLS 1.2 as well as TLS 1.3; the kit's Python peer then checks
     * an echo on both. Consulted by {@link TcpOutsidePeersKit}.
     *
     * @return true by default
     */
    protected boolean serverSupportsTls12() {
        return true;
    }

    /**
     * Tells whether half-close works on TLS 1.2 connections too. TLS 1.2 (RFC 5246) makes close_notify a full
     * close, and the JDK's TLS stack enforces that, so a transport on the JDK's TLS returns false and documents
     * that half-close needs TLS 1.3 (which every current peer, the Go agent included, negotiates). Consulted by
     * {@link TcpHalfCloseKit}.
     *
     * @return true by default
     */
    protected boolean halfCloseOnTls12() {
        return true;
    }

    /**
     * Tells whether a side that received close_notify can keep sending (the half-close a client starts and the
     * destination answers). True by default; Netty's OpenSSL engine closes both directions on close_notify, so the
     * cases that end an upload with a half-close while data still flows back are skipped with that reason.
     * Consulted by {@link TcpRelayKit}, {@link TcpHalfCloseKit} and {@link TcpForwardKit}.
     *
     * @return true by default
     */
    protected boolean sendsAfterPeerCloseNotify() {
        return true;
    }

    /** Skips the case where {@link #sendsAfterPeerCloseNotify()} says this configuration has no half-close. */
    final void assumeHalfClose() {
        assumeTrue(sendsAfterPeerCloseNotify(),
                "this configuration closes both directions when it receives close_notify");
    }

    @BeforeEach
    void startDestination() {
        echo = closeLater(TcpDestination.echo());
    }

    /**
     * Starts a server of the transport on 127.0.0.1:0 with the kit's timeouts.
     *
     * @param customize changes to the options
     * @return the server, closed after the test
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer(UnaryOperator<StreamServerOptions.Builder> customize) throws IOException {
        StreamServerOptions.Builder b = serverOptions(HEADER_TIMEOUT)
                .tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .dialTimeout(DIAL_TIMEOUT);
        return closeLater(newServer(customize.apply(b).build()));
    }

    /**
     * Starts a server with the kit's defaults.
     *
     * @return the server
     * @throws IOException if it cannot start
     */
    protected StreamServer startServer() throws IOException {
        return startServer(b -> b);
    }

    /**
     * Creates a client of the transport for a server.
     *
     * @param server      the server
     * @param credentials the client's credentials
     * @return the client, closed after the test
     */
    protected StreamClient client(StreamServer server, TlsCredentials credentials) {
        return closeLater(newClient(clientOptions(server.tcpAddress(), credentials)
                .handshakeTimeout(Duration.ofSeconds(10)).build()));
    }

    /**
     * Creates a client with good credentials.
     *
     * @param server the server
     * @return the client
     */
    protected StreamClient client(StreamServer server) {
        return client(server, pki.clientCredentials());
    }

    /**
     * Opens a tunnel whose reads are bounded by {@link #WAIT}.
     *
     * @param client the client
     * @param host   the destination host
     * @param port   the destination port
     * @return the tunnel
     * @throws IOException if opening fails
     */
    protected static TcpTunnel open(StreamClient client, String host, int port) throws IOException {
        TcpTunnel t = client.openTcp(host, port);
        t.setReadTimeout(WAIT);
        return t;
    }

    /**
     * Asserts that the server closed the stream: end of stream or a connection error, within the read timeout.
     *
     * @param in the stream to read
     */
    protected static void assertClosedByServer(InputStream in) {
        byte[] buf = new byte[1024];
        try {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                if (in.read(buf) < 0) {
                    return;
                }
            }
            throw new AssertionError("the server kept the connection open");
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the server did not close the connection within the read timeout", e);
        } catch (IOException e) {
            // reset or TLS alert: closed
        }
    }

    /**
     * Connects without ever starting TLS and checks that the server closes the connection after the header
     * timeout (not before it, and not much after) and reports {@link io.streamproxy.RefusalReason#HEADER_TIMEOUT}.
     *
     * @param server the server
     * @throws IOException if connecting fails
     */
    protected void assertSilentClientClosedAfterHeaderTimeout(StreamServer server) throws IOException {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(server.tcpAddress(), (int) WAIT.toMillis());
            assertClosedAfterHeaderTimeout(s, System.nanoTime(), "a client that never started TLS");
        }
    }

    /**
     * Checks that the server closes a connection that sent no complete header once the header timeout has passed:
     * not before it, not more than 5 s after it, and only after it reported the refusal as
     * {@link io.streamproxy.RefusalReason#HEADER_TIMEOUT} (so that a connection that ended for another reason does
     * not pass for one the server timed out). Fails fast, naming the header timeout, when the server keeps it open.
     *
     * @param s     the client's socket (plain or TLS), which has sent what it will send
     * @param start {@link System#nanoTime()} just before the client connected
     * @param what  who the client is, for the messages
     * @throws IOException if the socket fails to take a timeout
     */
    protected void assertClosedAfterHeaderTimeout(java.net.Socket s, long start, String what) throws IOException {
        Duration bound = HEADER_TIMEOUT.plusSeconds(5);
        s.setSoTimeout((int) Math.max(1, bound.toMillis() - Duration.ofNanos(System.nanoTime() - start).toMillis()));
        byte[] buf = new byte[1024];
        try {
            while (s.getInputStream().read(buf) >= 0) {
                // a TLS server may send a session ticket first: read on until the close
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection of " + what + " open past the header timeout ("
                    + HEADER_TIMEOUT + ") + 5 s: every connection must be closed when its handshake and header do"
                    + " not arrive within the header timeout", e);
        } catch (IOException e) {
            // reset or TLS alert: closed
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        org.assertj.core.api.Assertions.assertThat(events.refusals()).as("refusals reported when the server closed"
                + " the connection of %s after %s ms (it must refuse it for the header timeout %s first)", what,
                took.toMillis(), HEADER_TIMEOUT).isNotEmpty();
        org.assertj.core.api.Assertions.assertThat(took).as("time until the server closed the connection of %s"
                + " (header timeout %s)", what, HEADER_TIMEOUT).isGreaterThanOrEqualTo(HEADER_TIMEOUT.minusMillis(200))
                .isLessThan(bound);
        org.assertj.core.api.Assertions.assertThat(events.awaitRefusal(WAIT).reason())
                .as("why the server refused %s", what).isEqualTo(io.streamproxy.RefusalReason.HEADER_TIMEOUT);
    }
}

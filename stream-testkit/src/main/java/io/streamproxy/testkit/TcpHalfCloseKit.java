package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import io.streamproxy.protocol.StreamProtocol;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Half-close over TCP: a client's half-close reaches the destination while the reply flows back, a destination's
 * half-close reaches the client while the client keeps sending, and both ways on TLS 1.3 and TLS 1.2 (where
 * {@link #halfCloseOnTls12()} says the transport offers it).
 */
public abstract class TcpHalfCloseKit extends TcpKitBase {
    /** How long the client-bound direction must stay open after the client's half-close, before the reply. */
    private static final java.time.Duration HALF_CLOSE_WATCH = java.time.Duration.ofMillis(300);

    @Test
    public void halfClose_reachesDestination_whileReplyFlowsBack() throws Exception {
        assumeHalfClose();
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        String cut = "the destination's reply after the client's half-close: the server turned the half-close into"
                + " a full close (a client's end of stream must end only the client-to-destination direction)";
        try (TcpTunnel t = open(client(server), dest.host(), dest.port())) {
            t.output().write("request".getBytes(StandardCharsets.US_ASCII));
            t.shutdownOutput();
            try (Socket d = dest.takeConnection(WAIT)) {
                d.setSoTimeout((int) WAIT.toMillis());
                assertThat(d.getInputStream().readAllBytes()).asString(StandardCharsets.US_ASCII)
                        .as("what reached the destination before the client's half-close").isEqualTo("request");
                // a server that turns the half-close into a full close does it right after passing the EOF on: give
                // it the chance before the reply exists, so that a fast reply cannot slip out ahead of its close
                t.setReadTimeout(HALF_CLOSE_WATCH);
                try {
                    int early = t.input().read();
                    throw new AssertionError(cut + " (the client's side ended before any reply: " + early + ")");
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // the client-bound direction is still open, as it must be
                } catch (java.io.IOException e) {
                    throw new AssertionError(cut, e);
                }
                t.setReadTimeout(WAIT);
                String reply;
                try {
                    d.getOutputStream().write("reply after your EOF".getBytes(StandardCharsets.US_ASCII));
                    d.shutdownOutput();
                    reply = new String(t.input().readAllBytes(), StandardCharsets.US_ASCII);
                } catch (java.io.IOException e) {
                    throw new AssertionError(cut, e);
                }
                assertThat(reply).as(cut).isEqualTo("reply after your EOF");
            }
        }
        events.awaitClosed(WAIT);
    }

    /**
     * The client sends one byte through the tunnel; returns the destination's connection once that byte arrived (the
     * destination's socket reads with the kit's timeout).
     */
    private static Socket firstByteThrough(TcpTunnel t, TcpDestination dest) throws Exception {
        t.output().write('x');
        t.output().flush();
        Socket d = dest.takeConnection(WAIT);
        d.setSoTimeout((int) WAIT.toMillis());
        assertThat(d.getInputStream().read()).as("the client's first byte at the destination").isEqualTo('x');
        return d;
    }

    @Test
    public void halfClose_fromDestination_reachesClient_whileClientKeepsSending() throws Exception {
        assumeHalfClose();
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        try (TcpTunnel t = open(client(server), dest.host(), dest.port())) {
            try (Socket d = firstByteThrough(t, dest)) {
                d.getOutputStream().write("banner".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(t.input().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("banner");
                t.output().write("still sending".getBytes(StandardCharsets.US_ASCII));
                t.output().flush();
                t.shutdownOutput();
                assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("still sending");
            }
        }
        events.awaitClosed(WAIT);
    }

    /**
     * After the destination's FIN, an upload larger than every buffer on the way reaches it whole: the destination's
     * small receive buffer makes the server wait to write to it again and again after that socket's input ended
     * (Netty 4.2's epoll transport then failed that wait, shut the output and ended the upload early with a clean
     * FIN).
     */
    @Test
    public void halfClose_fromDestination_thenALongUpload_reachesItWhole() throws Exception {
        assumeHalfClose();
        TcpDestination dest = closeLater(TcpDestination.scripted(4096));
        StreamServer server = startServer();
        byte[] upload = new byte[16 << 20];
        new Random(13).nextBytes(upload);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try (TcpTunnel t = open(client(server), dest.host(), dest.port())) {
            try (Socket d = firstByteThrough(t, dest)) {
                d.shutdownOutput();
                assertThat(t.input().read()).as("the destination's end reached the client").isEqualTo(-1);
                Future<?> sent = writer.submit(() -> {
                    t.output().write(upload);
                    t.output().flush();
                    t.shutdownOutput();
                    return null;
                });
                ByteArrayOutputStream got = new ByteArrayOutputStream(upload.length);
                byte[] small = new byte[512]; // small reads: the server's socket buffer to it fills up
                for (int n; (n = d.getInputStream().read(small)) >= 0; ) {
                    got.write(small, 0, n);
                }
                sent.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                assertThat(got.size()).as("bytes of the upload before end of stream").isEqualTo(upload.length);
                assertThat(Arrays.equals(got.toByteArray(), upload)).as("the upload arrived unchanged")
                        .isTrue();
            }
        } finally {
            writer.shutdownNow();
        }
        events.awaitClosed(WAIT);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    public void halfClose_worksBothWays_onEachTlsVersion(String version) throws Exception {
        assumeHalfClose();
        assumeTrue(!version.equals("TLSv1.2") || halfCloseOnTls12(),
                "this transport documents that TLS 1.2 close_notify is a full close, so half-close needs TLS 1.3");
        TcpDestination dest = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, new String[] {version}, WAIT)) {
            assertThat(s.getSession().getProtocol()).isEqualTo(version);
            s.getOutputStream().write(WireHeaders.valid(dest.host(), Integer.toString(dest.port()), 0));
            s.getOutputStream().write("up".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            try (Socket d = dest.takeConnection(WAIT)) {
                d.setSoTimeout((int) WAIT.toMillis());
                d.getOutputStream().write("down".getBytes(StandardCharsets.US_ASCII));
                d.shutdownOutput();
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("down");
                s.getOutputStream().write(" and more".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.shutdownOutput();
                assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                        .isEqualTo("up and more");
            }
        }
        events.awaitClosed(WAIT);
    }

    /**
     * A destination that resets its connection reaches the client as a reset, never as a clean end (close_notify
     * or FIN), so that a download cut short cannot look complete.
     */
    @Test
    public void destinationReset_reachesTheClientAsAReset() throws Exception {
        TcpDestination scripted = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        try (SSLSocket c = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {StreamProtocol.ALPN}, WAIT)) {
            c.getOutputStream().write(WireHeaders.valid(scripted.host(), Integer.toString(scripted.port()), 0));
            c.getOutputStream().write(1);
            c.getOutputStream().flush();
            Socket d = scripted.takeConnection(WAIT);
            assertThat(d.getInputStream().read()).isEqualTo(1);
            d.getOutputStream().write(new byte[] {2, 3});
            d.setSoLinger(true, 0);
            d.close();
            InputStream in = c.getInputStream();
            assertThat(in.read()).isEqualTo(2);
            assertThat(in.read()).isEqualTo(3);
            assertThat(catchThrowable(() -> in.read())).as("what the client read after the destination reset: it"
                    + " must be a reset, not an end of stream (a download cut short must not look complete)")
                    .isInstanceOf(java.net.SocketException.class);
        }
    }

    /** A client that resets its connection reaches the destination as a reset, never as a FIN. */
    @Test
    public void clientReset_reachesTheDestinationAsAReset() throws Exception {
        TcpDestination scripted = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        SSLSocket c = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {StreamProtocol.ALPN}, WAIT);
        c.getOutputStream().write(WireHeaders.valid(scripted.host(), Integer.toString(scripted.port()), 0));
        c.getOutputStream().write(1);
        c.getOutputStream().flush();
        Socket d = scripted.takeConnection(WAIT);
        d.setSoTimeout((int) WAIT.toMillis());
        assertThat(d.getInputStream().read()).isEqualTo(1);
        RawTlsClient.reset(c);
        assertThat(catchThrowable(() -> d.getInputStream().read())).as("what the destination read after the client"
                + " reset: it must be a reset, not an end of stream (an upload cut short must not look complete)")
                .isInstanceOf(java.net.SocketException.class);
    }

    /**
     * A client that sent its request, half-closed and reads slowly gets every byte of the answer after the
     * destination finished: with both directions ended the server drains what is queued for the client before it
     * closes (Netty's SslHandler used to give up after 3 s and cut the stream short). The client, with a small
     * receive window, stops reading for 4 s, past that old bound, while most of 512 KiB wait in the server.
     */
    @Test
    public void slowReader_getsTheWholeStream_afterBothDirectionsEnded() throws Exception {
        assumeTrue(sendsAfterPeerCloseNotify(), "the client half-closes with close_notify before the answer");
        TcpDestination scripted = closeLater(TcpDestination.scripted());
        StreamServer server = startServer();
        byte[] data = new byte[512 << 10];
        new Random(5).nextBytes(data);
        try (SSLSocket c = RawTlsClient.connectWithReceiveBuffer(server.tcpAddress(), pki.clientCredentials(),
                new String[] {StreamProtocol.ALPN}, WAIT, 4096)) {
            c.getOutputStream().write(WireHeaders.valid(scripted.host(), Integer.toString(scripted.port()), 0));
            c.getOutputStream().flush();
            Socket d = scripted.takeConnection(WAIT);
            c.shutdownOutput(); // the request is complete
            d.setSoTimeout((int) WAIT.toMillis());
            assertThat(d.getInputStream().read()).as("the client's end reached the destination").isEqualTo(-1);
            d.getOutputStream().write(data);
            d.close(); // the answer is complete: both directions have ended
            java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
            assertThat(never.await(4, TimeUnit.SECONDS)).isFalse(); // the client reads nothing
            byte[] got = c.getInputStream().readAllBytes();
            assertThat(got.length).as("bytes received").isEqualTo(data.length);
            assertThat(Arrays.equals(got, data)).isTrue();
        }
    }
}

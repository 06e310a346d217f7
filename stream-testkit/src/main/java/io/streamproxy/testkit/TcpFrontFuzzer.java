package io.streamproxy.testkit;

import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Drives the fuzz tests of a live TCP server's byte front, before TLS: one server of the transport under test on
 * 127.0.0.1:0 (started once, reused for every input), an echo destination and a good client. {@link #feed} writes
 * one input raw on a fresh plain TCP connection (where the server expects a TLS ClientHello), half-closes, and
 * requires the server to close that connection in bounded time, to open no session for it, and to log nothing at
 * WARN or above; every {@code checkEvery} inputs, and in {@link #close}, a real tunnel through the server to the
 * echo destination must still work. Every wait is bounded. A transport's fuzz test holds one of these in a static
 * field, starts it in {@code @BeforeAll} and closes it in {@code @AfterAll}; Jazzer's {@code @FuzzTest} method calls
 * {@link #feed}.
 */
public final class TcpFrontFuzzer implements Closeable {
    /** The header timeout of the fuzzed server: it bounds how long a connection that sent junk may stay open. */
    public static final Duration HEADER_TIMEOUT = Duration.ofSeconds(2);
    /** How long the server may take, beyond the header timeout, to close a connection that sent junk and EOF. */
    private static final Duration CLOSE_MARGIN = Duration.ofSeconds(5);
    /** The bound on connecting and on each read of the tunnel check. */
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final RecordingListener events = new RecordingListener();
    private final TcpDestination echo;
    private final StreamServer server;
    private final StreamClient client;
    private final int checkEvery;
    private final LogWatch logs = new LogWatch();
    private long inputs;
    private int tunnels;

    private TcpFrontFuzzer(TransportProvider provider, Map<String, String> transportOptions, int checkEvery)
            throws IOException {
        this.checkEvery = checkEvery;
        TestPki pki = TestPki.shared();
        TransportRegistry registry = new TransportRegistry(List.of(provider));
        echo = TcpDestination.echo();
        StreamServerOptions.Builder sb = StreamServerOptions.builder(pki.serverCredentials())
                .transport(provider.name()).headerTimeout(HEADER_TIMEOUT).dialTimeout(WAIT).listener(events)
                .tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        transportOptions.forEach(sb::transportOption);
        try {
            server = StreamServer.start(sb.build(), registry);
        } catch (IOException | RuntimeException e) {
            echo.close();
            throw e;
        }
        StreamClientOptions.Builder cb = StreamClientOptions.builder(server.tcpAddress(), pki.clientCredentials())
                .transport(provider.name()).handshakeTimeout(WAIT);
        transportOptions.forEach(cb::transportOption);
        client = StreamClient.create(cb.build(), registry);
        checkTunnel();
        logs.reset();
    }

    /**
     * Starts the server, the echo destination and the client, and checks one tunnel; a real tunnel is checked after
     * every input in regression runs, and after every {@link FuzzSettings#checkEvery()} inputs when fuzzing.
     *
     * @param provider         the transport under test
     * @param transportOptions its options for server and client
     * @return the running fuzzer
     * @throws IOException if the server cannot start or the first tunnel fails
     */
    public static TcpFrontFuzzer start(TransportProvider provider, Map<String, String> transportOptions)
            throws IOException {
        return start(provider, transportOptions, FuzzSettings.checkEvery());
    }

    /**
     * Starts the server, the echo destination and the client, and checks one tunnel.
     *
     * @param provider         the transport under test
     * @param transportOptions its options for server and client (for example {@code netty.ssl=openssl})
     * @param checkEvery       check a real tunnel after every this many inputs (1: after each)
     * @return the running fuzzer
     * @throws IOException if the server cannot start or the first tunnel fails
     */
    public static TcpFrontFuzzer start(TransportProvider provider, Map<String, String> transportOptions,
                                       int checkEvery) throws IOException {
        if (checkEvery < 1) {
            throw new IllegalArgumentException("checkEvery must be at least 1");
        }
        return new TcpFrontFuzzer(provider, transportOptions, checkEvery);
    }

    /**
     * Writes one input raw to the server's TCP port and checks that the server survives it.
     *
     * @param input the bytes a client sends instead of a TLS handshake
     * @throws IOException if connecting or the tunnel check fails
     * @throws AssertionError if the server kept the connection open, opened a session, logged a warning or error,
     *                        or stopped relaying
     */
    public void feed(byte[] input) throws IOException {
        inputs++;
        try (Socket s = new Socket()) {
            s.connect(server.tcpAddress(), (int) WAIT.toMillis());
            long deadline = System.nanoTime() + HEADER_TIMEOUT.plus(CLOSE_MARGIN).toNanos();
            try {
                s.getOutputStream().write(input);
                s.shutdownOutput();
            } catch (IOException e) {
                // the server closed first (it may refuse after the first bytes): what remains is the close check
            }
            awaitClose(s, deadline, input);
        }
        if (events.openedCount() > tunnels) {
            throw new AssertionError("junk before TLS opened a session: " + events.openedCount() + " sessions for "
                    + tunnels + " real tunnels, input " + hex(input));
        }
        logs.assertQuiet("after input " + hex(input));
        if (inputs % checkEvery == 0) {
            checkTunnel();
        }
    }

    /** @return how many inputs were fed */
    public long inputs() {
        return inputs;
    }

    /** @return how many real tunnels were checked */
    public int tunnels() {
        return tunnels;
    }

    /**
     * Checks one real tunnel: a client opens it through the server to the echo destination and gets its bytes back.
     *
     * @throws IOException if opening or relaying fails
     * @throws AssertionError if the echo differs or the session count is off
     */
    public void checkTunnel() throws IOException {
        byte[] ping = ("ping " + tunnels + " after " + inputs + " inputs").getBytes(StandardCharsets.US_ASCII);
        try (TcpTunnel t = client.openTcp(echo.host(), echo.port())) {
            t.setReadTimeout(WAIT);
            t.output().write(ping);
            t.output().flush();
            byte[] back = t.input().readNBytes(ping.length);
            if (!Arrays.equals(back, ping)) {
                throw new AssertionError("the tunnel echoed " + new String(back, StandardCharsets.US_ASCII)
                        + " instead of " + new String(ping, StandardCharsets.US_ASCII));
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no echo through a real tunnel within " + WAIT + " after " + inputs
                    + " inputs", e);
        }
        tunnels++;
        if (events.openedCount() != tunnels) {
            throw new AssertionError(events.openedCount() + " sessions opened for " + tunnels + " real tunnels");
        }
    }

    private static void awaitClose(Socket s, long deadline, byte[] input) throws IOException {
        byte[] buf = new byte[16384];
        InputStream in = s.getInputStream();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("the server kept a connection open for more than " + HEADER_TIMEOUT
                        + " + " + CLOSE_MARGIN + " after it sent junk and EOF: " + hex(input));
            }
            s.setSoTimeout((int) Math.max(1, left / 1_000_000));
            try {
                if (in.read(buf) < 0) {
                    return;
                }
            } catch (SocketTimeoutException e) {
                // loop: the deadline check reports it
            } catch (IOException e) {
                return; // reset: closed
            }
        }
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(Math.min(b.length, 64) * 2 + 16);
        for (int i = 0; i < b.length && i < 64; i++) {
            sb.append(String.format("%02x", b[i] & 0xff));
        }
        if (b.length > 64) {
            sb.append("... (").append(b.length).append(" bytes)");
        }
        return sb.toString();
    }

    /**
     * Checks a last tunnel and the logs, then closes the client, the server and the destination.
     *
     * @throws IOException if the last tunnel fails
     * @throws AssertionError if the server stopped relaying or logged a warning
     */
    @Override
    public void close() throws IOException {
        try {
            checkTunnel();
            logs.assertQuiet("at the end");
            System.out.println("TcpFrontFuzzer (" + server.description(Protocol.TCP) + "): " + inputs
                    + " inputs, " + tunnels + " real tunnels checked, all survived");
        } finally {
            try {
                client.close();
            } finally {
                try {
                    server.close();
                } finally {
                    echo.close();
                }
            }
        }
    }
}

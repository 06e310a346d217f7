package io.streamproxy.testkit;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Protocol;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Drives the fuzz tests of a live UDP server's datagram front: one server of the transport under test on
 * 127.0.0.1:0 (started once, reused for every input), a UDP echo destination, one DTLS session established at the
 * start and kept relaying, and a good client. An input becomes one to four datagrams ({@link #datagrams}), sent
 * either from a stranger's socket ({@link #feedFromStranger}: one loopback socket that is no session, the same for
 * every input) or from the address of the established session itself ({@link #feedFromSession}, as an off-path
 * attacker spoofing the client would). After each input the established session must still echo a record, the
 * server must have opened no session for the junk and logged nothing at WARN or above; every {@code checkEvery}
 * inputs, and in {@link #close}, a new client must complete a real DTLS tunnel to the echo destination. Every wait
 * is bounded.
 */
public final class UdpFrontFuzzer implements Closeable {
    /** The header timeout of the fuzzed server: it reaps half-open handshakes that junk started. */
    public static final Duration HEADER_TIMEOUT = Duration.ofSeconds(2);
    /** The bound on each wait. */
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final RecordingListener events = new RecordingListener();
    private final UdpDestination echo;
    private final StreamServer server;
    private final StreamClient client;
    private final RawDtlsClient session;
    private final DatagramChannel stranger;
    private final ByteBuffer discard = ByteBuffer.allocate(65536);
    private final int checkEvery;
    private final LogWatch logs = new LogWatch();
    private long inputs;
    private long probes;
    private int tunnels;

    private UdpFrontFuzzer(TransportProvider provider, Map<String, String> transportOptions, int checkEvery)
            throws IOException {
        this.checkEvery = checkEvery;
        TestPki pki = TestPki.shared();
        TransportRegistry registry = new TransportRegistry(List.of(provider));
        List<Closeable> opened = new ArrayList<>();
        try {
            echo = add(opened, UdpDestination.echo());
            StreamServerOptions.Builder sb = StreamServerOptions.builder(pki.serverCredentials())
                    .transport(provider.name()).headerTimeout(HEADER_TIMEOUT).listener(events)
                    .udp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            transportOptions.forEach(sb::transportOption);
            server = add(opened, StreamServer.start(sb.build(), registry));
            StreamClientOptions.Builder cb = StreamClientOptions.builder(server.udpAddress(),
                    pki.clientCredentials()).transport(provider.name()).handshakeTimeout(WAIT);
            transportOptions.forEach(cb::transportOption);
            client = add(opened, StreamClient.create(cb.build(), registry));
            session = add(opened, RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null));
            session.handshake(WAIT);
            session.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            tunnels = 1;
            probeSession("the first record of the established session");
            stranger = add(opened, DatagramChannel.open());
            stranger.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            stranger.configureBlocking(false);
            checkTunnel();
        } catch (IOException | RuntimeException | Error e) {
            for (int i = opened.size() - 1; i >= 0; i--) {
                try {
                    opened.get(i).close();
                } catch (IOException | RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
        logs.reset();
    }

    private static <T extends Closeable> T add(List<Closeable> opened, T c) {
        opened.add(c);
        return c;
    }

    /**
     * Starts the server, the echo destination, the established session and the client, and checks one tunnel; a
     * new tunnel is checked after every input in regression runs, after every {@link FuzzSettings#checkEvery()}
     * inputs when fuzzing.
     *
     * @param provider         the transport under test
     * @param transportOptions its options for server and client
     * @return the running fuzzer
     * @throws IOException if the server cannot start or the first session or tunnel fails
     */
    public static UdpFrontFuzzer start(TransportProvider provider, Map<String, String> transportOptions)
            throws IOException {
        return new UdpFrontFuzzer(provider, transportOptions, FuzzSettings.checkEvery());
    }

    /**
     * Splits an input into datagrams: the low two bits of the first byte say how many (1 to 4), the rest is cut
     * into that many parts of equal size (the last takes what remains). An empty input is one empty datagram.
     *
     * @param input the fuzz input
     * @return the datagrams
     */
    public static List<byte[]> datagrams(byte[] input) {
        if (input.length == 0) {
            return List.of(new byte[0]);
        }
        int count = (input[0] & 3) + 1;
        int payload = input.length - 1;
        int part = payload / count;
        List<byte[]> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = 1 + i * part;
            int to = i == count - 1 ? input.length : from + part;
            out.add(Arrays.copyOfRange(input, from, to));
        }
        return out;
    }

    /**
     * Sends an input from a loopback socket that is no session, then checks that the server survives.
     *
     * @param input the fuzz input, split by {@link #datagrams}
     * @throws IOException if sending or a check fails
     */
    public void feedFromStranger(byte[] input) throws IOException {
        for (byte[] d : datagrams(input)) {
            stranger.send(ByteBuffer.wrap(d), server.udpAddress());
        }
        drainStranger();
        afterInput(input);
    }

    /**
     * Sends an input from the established session's own address (its socket), then checks that the session still
     * relays and the server survives.
     *
     * @param input the fuzz input, split by {@link #datagrams}
     * @throws IOException if sending or a check fails
     */
    public void feedFromSession(byte[] input) throws IOException {
        for (byte[] d : datagrams(input)) {
            session.transmit(ByteBuffer.wrap(d));
        }
        afterInput(input);
    }

    private void afterInput(byte[] input) throws IOException {
        inputs++;
        probeSession("after input " + TcpFrontFuzzer.hex(input));
        if (events.openedCount() != tunnels) {
            throw new AssertionError("junk opened a session: " + events.openedCount() + " sessions for " + tunnels
                    + " real ones, input " + TcpFrontFuzzer.hex(input));
        }
        logs.assertQuiet("after input " + TcpFrontFuzzer.hex(input));
        if (inputs % checkEvery == 0) {
            checkTunnel();
        }
    }

    /** Answers to the stranger (HelloVerifyRequests, alerts) are read and dropped, so that its buffer never fills. */
    private void drainStranger() throws IOException {
        for (int i = 0; i < 64; i++) {
            discard.clear();
            if (stranger.receive(discard) == null) {
                return;
            }
        }
    }

    private void probeSession(String when) throws IOException {
        byte[] probe = ("probe " + probes++).getBytes(StandardCharsets.US_ASCII);
        byte[] back;
        try {
            session.send(probe);
            back = session.receive(WAIT);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the established session echoed nothing within " + WAIT + " " + when, e);
        } catch (IOException e) {
            throw new AssertionError("the established session failed " + when + ": " + e, e);
        }
        if (back == null) {
            throw new AssertionError("the server ended the established session " + when);
        }
        if (!Arrays.equals(back, probe)) {
            throw new AssertionError("the established session echoed '" + new String(back, StandardCharsets.ISO_8859_1)
                    + "' instead of '" + new String(probe, StandardCharsets.US_ASCII) + "' " + when);
        }
    }

    /**
     * Checks one new tunnel: a client completes a DTLS handshake with the server, sends a datagram to the echo
     * destination and gets it back.
     *
     * @throws IOException if the tunnel fails
     */
    public void checkTunnel() throws IOException {
        byte[] ping = ("ping " + tunnels + " after " + inputs + " inputs").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer in = ByteBuffer.allocate(DatagramTunnel.MAX_DATAGRAM);
        try (DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
            t.send(ByteBuffer.wrap(ping));
            int n = t.receive(in, WAIT);
            if (n < 0) {
                throw new AssertionError("the server ended a new tunnel after " + inputs + " inputs");
            }
            if (!Arrays.equals(in.array(), 0, n, ping, 0, ping.length)) {
                throw new AssertionError("a new tunnel echoed "
                        + new String(in.array(), 0, n, StandardCharsets.ISO_8859_1) + " after " + inputs + " inputs");
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no echo through a new tunnel within " + WAIT + " after " + inputs + " inputs",
                    e);
        }
        tunnels++;
    }

    /** @return how many inputs were fed */
    public long inputs() {
        return inputs;
    }

    /**
     * Checks the established session, a last new tunnel and the logs, then closes everything.
     *
     * @throws IOException if a check fails
     */
    @Override
    public void close() throws IOException {
        try {
            probeSession("at the end");
            checkTunnel();
            logs.assertQuiet("at the end");
            System.out.println("UdpFrontFuzzer (" + server.description(Protocol.UDP) + "): " + inputs
                    + " inputs, " + probes + " records echoed by the established session, " + tunnels
                    + " sessions checked, all survived");
        } finally {
            try {
                stranger.close();
                session.close();
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

package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.RefusalReason;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;

/**
 * Fuzzes the header decoder ({@link HeaderCodec#decode}) and the server's rule on a received header
 * ({@link SessionRules#decide(ByteBuffer, DestinationPolicy)}). Every input must decode or fail with
 * {@link InvalidHeaderException} (nothing else, within 5 s on a worker thread); a decoded header must have passed
 * every documented check, must re-encode to exactly the received bytes when the received bytes are in the encoder's canonical form
 * (NUL padding, host and port text that are valid UTF-8), and decodes to itself once re-encoded; the session rule
 * never throws, whatever the policy does, and its decision agrees with the decoder.
 *
 * <p>Two targets: {@link #decodeRaw} takes the input as the received bytes, any length; {@link #decodeChecksummed}
 * makes the input into 275 bytes with a correct CRC-32, so that the fuzzer gets past the checksum and explores the
 * version, length, port and host checks and the host syntax. In a normal build both replay their corpus under
 * {@code src/test/resources/io/streamproxy/protocol/HeaderFuzzTestInputs}; {@code JAZZER_FUZZ=1} fuzzes one of them
 * (README, "Fuzzing").
 */
class HeaderFuzzTest {
    private static final int SIZE = StreamProtocol.HEADER_SIZE;

    /** The bound on checking one input: pure code over at most a few KiB, so anything near it is a hang. */
    private static final long BOUND_SECONDS = 5;
    private static final AtomicReference<Thread> WORKER_THREAD = new AtomicReference<>();
    private static final ExecutorService WORKER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "header-fuzz-worker");
        t.setDaemon(true);
        WORKER_THREAD.set(t);
        return t;
    });

    // No @Timeout: JUnit would apply it to the whole fuzzing run, which is one invocation; each input is bounded here.
    @FuzzTest(maxDuration = "3m")
    void decodeRaw(byte[] input) throws Throwable {
        bounded(() -> check(input));
    }

    @FuzzTest(maxDuration = "3m")
    void decodeChecksummed(byte[] input) throws Throwable {
        byte[] header = Arrays.copyOf(input, SIZE);
        int crc = crc(header);
        header[271] = (byte) (crc >>> 24);
        header[272] = (byte) (crc >>> 16);
        header[273] = (byte) (crc >>> 8);
        header[274] = (byte) crc;
        bounded(() -> check(header));
    }

    /** Runs one check on the worker thread; a check that does not end in time fails with the worker's stack. */
    private static void bounded(Runnable check) throws Throwable {
        Future<?> done = WORKER.submit(check);
        try {
            done.get(BOUND_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause();
        } catch (TimeoutException e) {
            AssertionError hang = new AssertionError("checking one input took more than " + BOUND_SECONDS + " s");
            Thread worker = WORKER_THREAD.get();
            if (worker != null) {
                hang.setStackTrace(worker.getStackTrace());
            }
            done.cancel(true);
            throw hang;
        }
    }

    private static void check(byte[] received) {
        StreamHeader decoded;
        InvalidHeaderException.Check failed = null;
        try {
            decoded = HeaderCodec.decode(received, 0, received.length);
        } catch (InvalidHeaderException e) {
            decoded = null;
            failed = e.check();
            assertThat(failed).as("the failed check is named").isNotNull();
            assertThat(e.getMessage()).isNotBlank();
        }
        assertDecodersAgree(received, decoded, failed);
        if (decoded != null) {
            assertPassedEveryCheck(received, decoded);
            assertReEncodes(received, decoded);
        } else {
            assertFailedTheFirstFailingCheck(received, failed);
        }
        assertSessionRuleAgrees(received, decoded, failed);
    }

    /** The array form, the buffer form and a header at an offset inside a larger buffer all decode alike. */
    private static void assertDecodersAgree(byte[] received, StreamHeader decoded,
                                            InvalidHeaderException.Check failed) {
        byte[] padded = new byte[received.length + 7];
        Arrays.fill(padded, (byte) 0x5a);
        System.arraycopy(received, 0, padded, 3, received.length);
        ByteBuffer buffer = ByteBuffer.wrap(padded, 3, received.length).slice();
        StreamHeader again = null;
        InvalidHeaderException.Check againFailed = null;
        try {
            again = HeaderCodec.decode(buffer);
        } catch (InvalidHeaderException e) {
            againFailed = e.check();
        }
        assertThat(again).isEqualTo(decoded);
        assertThat(againFailed).isEqualTo(failed);
        assertThat(buffer.position()).as("decode does not move the buffer").isZero();
        try {
            assertThat(HeaderCodec.decode(padded, 3, received.length)).isEqualTo(decoded);
        } catch (InvalidHeaderException e) {
            assertThat(e.check()).isEqualTo(failed);
        }
    }

    private static void assertPassedEveryCheck(byte[] b, StreamHeader h) {
        assertThat(b).hasSize(SIZE);
        assertThat(Arrays.copyOf(b, StreamProtocol.VERSION_SIZE)).isEqualTo(StreamProtocol.version());
        int portLength = b[StreamProtocol.OFFSET_PORT_LENGTH] & 0xff;
        assertThat(portLength).isLessThanOrEqualTo(StreamProtocol.PORT_SIZE);
        assertThat(crc(b)).isEqualTo(ByteBuffer.wrap(b, StreamProtocol.OFFSET_CHECKSUM, 4).getInt());
        assertThat(h.flags()).isEqualTo(b[StreamProtocol.OFFSET_FLAGS] & 0xff);
        assertThat(h.isHealthProbe()).isEqualTo((h.flags() & 1) != 0);
        int hostLength = b[StreamProtocol.OFFSET_HOST_LENGTH] & 0xff;
        assertThat(h.host()).isEqualTo(new String(b, StreamProtocol.OFFSET_HOST, hostLength, StandardCharsets.UTF_8));
        assertThat(h.port()).isEqualTo(new String(b, StreamProtocol.OFFSET_PORT, portLength, StandardCharsets.UTF_8));
        if (!h.isHealthProbe()) {
            assertThat(h.port()).matches("[0-9]{1,5}");
            assertThat(Integer.parseInt(h.port())).isBetween(1, 65535);
        }
    }

    /**
     * The encoder writes NUL padding and the UTF-8 of host and port. Received bytes in that form re-encode to
     * themselves, byte for byte; any decoded header that the encoder accepts decodes back to itself.
     */
    private static void assertReEncodes(byte[] b, StreamHeader h) {
        byte[] again;
        try {
            again = HeaderCodec.encode(h.host(), h.port(), h.flags());
        } catch (IllegalArgumentException e) {
            // only malformed UTF-8, each bad byte decoded as U+FFFD (3 bytes), makes a field outgrow its size: in the
            // host, or in the port of a health probe (whose port is never checked)
            assertThat(isCanonical(b)).as("a canonical header re-encodes: %s", e.getMessage()).isFalse();
            boolean hostOutgrew = h.host().getBytes(StandardCharsets.UTF_8).length > StreamProtocol.HOST_SIZE;
            boolean portOutgrew = h.port().getBytes(StandardCharsets.UTF_8).length > StreamProtocol.PORT_SIZE;
            assertThat(hostOutgrew || portOutgrew && h.isHealthProbe()).as(e.getMessage()).isTrue();
            return;
        }
        if (isCanonical(b)) {
            assertThat(again).as("a canonical header re-encodes to the received bytes").isEqualTo(b);
        }
        try {
            assertThat(HeaderCodec.decode(again, 0, again.length)).isEqualTo(h);
        } catch (InvalidHeaderException e) {
            throw new AssertionError("a re-encoded header does not decode: " + e.getMessage(), e);
        }
    }

    private static boolean isCanonical(byte[] b) {
        int hostLength = b[StreamProtocol.OFFSET_HOST_LENGTH] & 0xff;
        int portLength = b[StreamProtocol.OFFSET_PORT_LENGTH] & 0xff;
        return allZero(b, StreamProtocol.OFFSET_HOST + hostLength, StreamProtocol.OFFSET_PORT_LENGTH)
                && allZero(b, StreamProtocol.OFFSET_PORT + portLength, StreamProtocol.OFFSET_FLAGS)
                && utf8RoundTrips(b, StreamProtocol.OFFSET_HOST, hostLength)
                && utf8RoundTrips(b, StreamProtocol.OFFSET_PORT, portLength);
    }

    private static boolean allZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean utf8RoundTrips(byte[] b, int off, int len) {
        byte[] field = Arrays.copyOfRange(b, off, off + len);
        return Arrays.equals(new String(field, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8), field);
    }

    /** The exception names the first of the documented checks, in their documented order, that the bytes fail. */
    private static void assertFailedTheFirstFailingCheck(byte[] b, InvalidHeaderException.Check failed) {
        InvalidHeaderException.Check expected;
        if (b.length != SIZE) {
            expected = InvalidHeaderException.Check.SIZE;
        } else if (!Arrays.equals(Arrays.copyOf(b, StreamProtocol.VERSION_SIZE), StreamProtocol.version())) {
            expected = InvalidHeaderException.Check.VERSION;
        } else if ((b[StreamProtocol.OFFSET_PORT_LENGTH] & 0xff) > StreamProtocol.PORT_SIZE) {
            expected = InvalidHeaderException.Check.PORT_LENGTH;
        } else if (crc(b) != ByteBuffer.wrap(b, StreamProtocol.OFFSET_CHECKSUM, 4).getInt()) {
            expected = InvalidHeaderException.Check.CHECKSUM;
        } else {
            expected = InvalidHeaderException.Check.PORT_NUMBER;
            assertThat(b[StreamProtocol.OFFSET_FLAGS] & 1).as("a probe's port is never checked").isZero();
        }
        assertThat(failed).isEqualTo(expected);
    }

    /** {@link SessionRules#decide} never throws, whatever the policy does, and agrees with the decoder. */
    private static void assertSessionRuleAgrees(byte[] b, StreamHeader decoded, InvalidHeaderException.Check failed) {
        ByteBuffer buffer = ByteBuffer.wrap(b);
        SessionDecision allowAll = SessionRules.decide(buffer, DestinationPolicy.allowAll());
        assertThat(buffer.position()).isZero();
        SessionDecision denyAll = SessionRules.decide(buffer, d -> false);
        SessionDecision throwing = SessionRules.decide(buffer, d -> {
            throw new IllegalStateException("policy bug");
        });
        if (decoded == null) {
            RefusalReason reason = failed == InvalidHeaderException.Check.PORT_NUMBER
                    ? RefusalReason.BAD_DESTINATION : RefusalReason.INVALID_HEADER;
            for (SessionDecision d : new SessionDecision[] {allowAll, denyAll, throwing}) {
                assertThat(d.action()).isEqualTo(SessionDecision.Action.REFUSE);
                assertThat(d.reason()).isEqualTo(reason);
            }
            return;
        }
        if (decoded.isHealthProbe()) {
            for (SessionDecision d : new SessionDecision[] {allowAll, denyAll, throwing}) {
                assertThat(d.action()).isEqualTo(SessionDecision.Action.CLOSE_QUIETLY);
            }
            return;
        }
        boolean usable;
        try {
            HostSyntax.Host host = HostSyntax.parse(decoded.host());
            usable = true;
            assertThat(host.text()).isEqualTo(decoded.host());
            assertThat(host.isLiteral()).isEqualTo(host.address() != null);
            for (int i = 0; i < host.text().length(); i++) {
                assertThat(host.text().charAt(i)).as("an accepted host is printable ASCII").isBetween('!', '~');
            }
        } catch (IllegalArgumentException e) {
            usable = false;
        }
        if (!usable) {
            for (SessionDecision d : new SessionDecision[] {allowAll, denyAll, throwing}) {
                assertThat(d.action()).isEqualTo(SessionDecision.Action.REFUSE);
                assertThat(d.reason()).isEqualTo(RefusalReason.BAD_DESTINATION);
            }
            return;
        }
        assertThat(allowAll.action()).isEqualTo(SessionDecision.Action.DIAL);
        assertThat(allowAll.destination())
                .isEqualTo(new Destination(decoded.host(), Integer.parseInt(decoded.port())));
        assertThat(denyAll.action()).isEqualTo(SessionDecision.Action.REFUSE);
        assertThat(denyAll.reason()).isEqualTo(RefusalReason.POLICY_DENIED);
        assertThat(throwing.action()).isEqualTo(SessionDecision.Action.REFUSE);
        assertThat(throwing.reason()).isEqualTo(RefusalReason.POLICY_DENIED);
    }

    private static int crc(byte[] b) {
        CRC32 crc = new CRC32();
        crc.update(b, 0, StreamProtocol.OFFSET_CHECKSUM);
        return (int) crc.getValue();
    }
}

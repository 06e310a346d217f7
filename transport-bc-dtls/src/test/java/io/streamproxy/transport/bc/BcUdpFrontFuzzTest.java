package io.streamproxy.transport.bc;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.streamproxy.testkit.FuzzSettings;
import io.streamproxy.testkit.UdpFrontFuzzer;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the bc transport's live UDP server with datagrams ({@link UdpFrontFuzzer}): from a stranger's address, and
 * from the address of an established DTLS session, which must go on relaying.
 */
@SuppressWarnings("try") // the resource is the permission itself, held while the body runs
class BcUdpFrontFuzzTest {
    private static UdpFrontFuzzer fuzzer;

    @BeforeAll
    static void start() throws IOException {
        fuzzer = UdpFrontFuzzer.start(new BcTransportProvider(), Map.of());
    }

    @AfterAll
    static void stop() throws IOException {
        try (SilentCloseable loopback = loopbackOnly()) {
            fuzzer.close();
        }
    }

    // No @Timeout: JUnit would apply it to the whole fuzzing run; every wait of the fuzzer is bounded instead.
    @FuzzTest(maxDuration = "2m")
    void datagramsFromStranger(byte[] input) throws IOException {
        try (SilentCloseable loopback = loopbackOnly()) {
            fuzzer.feedFromStranger(input);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void datagramsFromSessionAddress(byte[] input) throws IOException {
        try (SilentCloseable loopback = loopbackOnly()) {
            fuzzer.feedFromSession(input);
        }
    }

    /**
     * Jazzer's SSRF detector refuses every connection once fuzzing starts (it resets any earlier permission then);
     * this test connects only to its own loopback server and destination, so each input permits exactly that.
     */
    private static SilentCloseable loopbackOnly() {
        return BugDetectors.allowNetworkConnections(FuzzSettings::isLoopback);
    }
}

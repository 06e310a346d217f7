package io.streamproxy.transport.netty;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.streamproxy.testkit.FuzzSettings;
import io.streamproxy.testkit.TcpFrontFuzzer;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the netty transport's live TCP server (JDK TLS, the default) with raw bytes where a TLS ClientHello
 * belongs ({@link TcpFrontFuzzer}).
 */
@SuppressWarnings("try") // the resource is the permission itself, held while the body runs
/** On the default TLS, OpenSSL (checked to load here). */
@ExtendWith(OpenSslConfig.class)
class NettyTcpFrontFuzzTest {
    private static TcpFrontFuzzer fuzzer;

    @BeforeAll
    static void start() throws IOException {
        fuzzer = TcpFrontFuzzer.start(new NettyTransportProvider(), Map.of());
    }

    @AfterAll
    static void stop() throws IOException {
        try (SilentCloseable loopback = loopbackOnly()) {
            fuzzer.close();
        }
    }

    // No @Timeout: JUnit would apply it to the whole fuzzing run; every wait of the fuzzer is bounded instead.
    @FuzzTest(maxDuration = "2m")
    void rawBytesBeforeTls(byte[] input) throws IOException {
        try (SilentCloseable loopback = loopbackOnly()) {
            fuzzer.feed(input);
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

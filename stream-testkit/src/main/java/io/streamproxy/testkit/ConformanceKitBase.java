package io.streamproxy.testkit;

import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the TCP and UDP conformance kits share: the transport under test and its options, the test PKI, a
 * {@link RecordingListener} per test, and resources closed after each test in reverse order.
 */
public abstract class ConformanceKitBase {
    /** The shared test PKI. */
    protected final TestPki pki = TestPki.shared();
    /** Records the server's session events; new for each test. */
    protected RecordingListener events;

    private final List<AutoCloseable> closeAfter = new ArrayList<>();

    /**
     * Names the transport under test, as its provider's {@code name()}.
     *
     * @return the transport name
     */
    protected abstract String transport();

    /**
     * Returns transport-specific options for the kit's servers and clients (for example {@code netty.ssl}).
     *
     * @return options, empty by default
     */
    protected Map<String, String> transportOptions() {
        return Map.of();
    }

    /**
     * Starts server options for the transport under test: the server PKI, the recording listener, the header
     * timeout and the transport options; the caller adds an address.
     *
     * @param headerTimeout the header timeout
     * @return a builder
     */
    protected StreamServerOptions.Builder serverOptions(Duration headerTimeout) {
        StreamServerOptions.Builder b = StreamServerOptions.builder(pki.serverCredentials())
                .transport(transport()).headerTimeout(headerTimeout).listener(events);
        transportOptions().forEach(b::transportOption);
        return b;
    }

    /**
     * Starts client options for the transport under test, with its transport options.
     *
     * @param server      the server address
     * @param credentials the client's credentials
     * @return a builder
     */
    protected StreamClientOptions.Builder clientOptions(InetSocketAddress server, TlsCredentials credentials) {
        StreamClientOptions.Builder b = StreamClientOptions.builder(server, credentials).transport(transport());
        transportOptions().forEach(b::transportOption);
        return b;
    }

    @BeforeEach
    void newListener() {
        events = new RecordingListener();
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = closeAfter.size() - 1; i >= 0; i--) {
            closeAfter.get(i).close();
        }
        closeAfter.clear();
    }

    /**
     * Registers something to close after the test, in reverse order.
     *
     * @param c   the resource
     * @param <T> its type
     * @return the resource
     */
    protected <T extends AutoCloseable> T closeLater(T c) {
        closeAfter.add(c);
        return c;
    }
}

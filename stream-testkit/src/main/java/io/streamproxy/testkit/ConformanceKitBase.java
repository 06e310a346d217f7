package io.streamproxy.testkit;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What every conformance kit shares: the transport under test, fed as a {@link TransportProvider} instance, and its
 * options; the test PKI; a {@link RecordingListener} per test; and resources closed after each test in reverse
 * order.
 *
 * <p>The kit starts servers and clients of exactly the instance that {@link #provider()} returns: they go through a
 * {@link TransportRegistry} that holds only that provider ({@link #registry()}), never through the class path's
 * default registry, so a kit cannot silently test another transport. Every case builds its options with
 * {@link #serverOptions(Duration)} and {@link #clientOptions(InetSocketAddress, TlsCredentials)}, so the
 * {@link #transportOptions()} of a configuration (for example {@code netty.ssl=openssl}) reach every case.
 *
 * <p>The kits' test methods are public: a transport that cannot pass one case overrides it in its subclass with the
 * kit method's own test annotation ({@code @Test}, or {@code @ParameterizedTest} and its source) plus
 * {@code @Disabled("why")}, so that the gap shows in the report (an override without a test annotation would hide
 * the case instead). Capability hooks such as {@code halfCloseOnTls12()} turn off the parts of a case that a
 * transport documents it does not offer, with the reason in the assumption's message.
 */
public abstract class ConformanceKitBase {
    /** The shared test PKI. */
    protected final TestPki pki = TestPki.shared();
    /** Records the server's session events; new for each test. */
    protected RecordingListener events;

    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private TransportProvider provider;
    private TransportRegistry registry;

    /**
     * Supplies the transport under test. Called once per test instance; return a new provider, for example
     * {@code new JdkTransportProvider()}.
     *
     * @return the provider whose servers and clients the kit starts
     */
    protected abstract TransportProvider provider();

    /**
     * Returns transport-specific options for the kit's servers and clients (for example {@code netty.ssl}).
     *
     * @return options, empty by default
     */
    protected Map<String, String> transportOptions() {
        return Map.of();
    }

    /**
     * Returns the provider under test, asking {@link #provider()} once per test instance.
     *
     * @return the provider
     */
    protected final TransportProvider underTest() {
        if (provider == null) {
            provider = Objects.requireNonNull(provider(), "provider() returned null");
        }
        return provider;
    }

    /**
     * Returns a registry that holds only the provider under test; the kit's servers and clients select from it.
     *
     * @return the registry
     */
    protected final TransportRegistry registry() {
        if (registry == null) {
            registry = new TransportRegistry(List.of(underTest()));
        }
        return registry;
    }

    /**
     * Starts server options for the transport under test: the server PKI, the provider's name, the recording
     * listener, the header timeout and the transport options; the caller adds an address.
     *
     * @param headerTimeout the header timeout
     * @return a builder
     */
    protected StreamServerOptions.Builder serverOptions(Duration headerTimeout) {
        StreamServerOptions.Builder b = StreamServerOptions.builder(pki.serverCredentials())
                .transport(underTest().name()).headerTimeout(headerTimeout).listener(events);
        transportOptions().forEach(b::transportOption);
        return b;
    }

    /**
     * Starts client options for the transport under test: the provider's name and the transport options.
     *
     * @param server      the server address
     * @param credentials the client's credentials
     * @return a builder
     */
    protected StreamClientOptions.Builder clientOptions(InetSocketAddress server, TlsCredentials credentials) {
        StreamClientOptions.Builder b = StreamClientOptions.builder(server, credentials)
                .transport(underTest().name());
        transportOptions().forEach(b::transportOption);
        return b;
    }

    /**
     * Starts a server of the provider under test (through {@link #registry()}); the caller closes it.
     *
     * @param options options built from {@link #serverOptions(Duration)}
     * @return the running server
     * @throws IOException if it cannot start
     */
    protected StreamServer newServer(StreamServerOptions options) throws IOException {
        return StreamServer.start(options, registry());
    }

    /**
     * Creates a client of the provider under test (through {@link #registry()}); the caller closes it.
     *
     * @param options options built from {@link #clientOptions(InetSocketAddress, TlsCredentials)}
     * @return the client
     */
    protected StreamClient newClient(StreamClientOptions options) {
        return StreamClient.create(options, registry());
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

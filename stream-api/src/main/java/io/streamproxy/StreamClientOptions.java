package io.streamproxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The immutable settings of a {@link StreamClient}: the server's address, this client's credentials, the name the
 * server's certificate must carry (default {@code godoxy.agent}), the transport, and timeouts for connecting and
 * for the handshake. Build one with {@link #builder(InetSocketAddress, TlsCredentials)}.
 */
public final class StreamClientOptions {
    /** The server name the original agent's certificate carries, and the default this client verifies. */
    public static final String DEFAULT_SERVER_NAME = "godoxy.agent";
    /** Default bound on the TCP connect: 10 s. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Default bound on the TLS/DTLS handshake, and on a health probe's answer: 10 s. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private final InetSocketAddress server;
    private final TlsCredentials credentials;
    private final String serverName;
    private final String transport;
    private final Map<String, String> transportOptions;
    private final Duration connectTimeout;
    private final Duration handshakeTimeout;
    private final int dtlsMtu;

    private StreamClientOptions(Builder b) {
        this.server = b.server;
        this.credentials = b.credentials;
        this.serverName = b.serverName;
        this.transport = b.transport;
        this.transportOptions = Map.copyOf(b.transportOptions);
        this.connectTimeout = b.connectTimeout;
        this.handshakeTimeout = b.handshakeTimeout;
        this.dtlsMtu = b.dtlsMtu;
    }

    /**
     * Starts a builder.
     *
     * @param server      the server's address (TCP and UDP use the same host; the port is per protocol)
     * @param credentials the client's certificate and key, and the CA that signs the server's certificate
     * @return a builder
     */
    public static Builder builder(InetSocketAddress server, TlsCredentials credentials) {
        return new Builder(server, credentials);
    }

    /** @return the server's address */
    public InetSocketAddress server() {
        return server;
    }

    /** @return the client's credentials */
    public TlsCredentials credentials() {
        return credentials;
    }

    /** @return the name the server's certificate must carry */
    public String serverName() {
        return serverName;
    }

    /** @return the transport name asked for, or null to let the registry choose */
    public String transport() {
        return transport;
    }

    /**
     * Returns settings for one transport, keyed by the transport's own prefix (for example {@code netty.io} =
     * {@code epoll} or {@code nio}); transports ignore keys that are not theirs.
     *
     * @return an immutable map
     */
    public Map<String, String> transportOptions() {
        return transportOptions;
    }

    /** @return the bound on the TCP connect */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** @return the bound on the handshake */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** @return the path MTU DTLS handshake flights are sized for */
    public int dtlsMtu() {
        return dtlsMtu;
    }

    /**
     * Returns a builder that starts from these settings.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        Builder b = new Builder(server, credentials);
        b.serverName = serverName;
        b.transport = transport;
        b.transportOptions.putAll(transportOptions);
        b.connectTimeout = connectTimeout;
        b.handshakeTimeout = handshakeTimeout;
        b.dtlsMtu = dtlsMtu;
        return b;
    }

    @Override
    public String toString() {
        return "StreamClientOptions{server=" + server + ", serverName=" + serverName + ", transport="
                + (transport == null ? "auto" : transport) + ", connectTimeout=" + connectTimeout
                + ", handshakeTimeout=" + handshakeTimeout + ", dtlsMtu=" + dtlsMtu + ", credentials=" + credentials
                + "}";
    }

    /** Collects the settings of a {@link StreamClientOptions}. */
    public static final class Builder {
        private InetSocketAddress server;
        private TlsCredentials credentials;
        private String serverName = DEFAULT_SERVER_NAME;
        private String transport;
        private final Map<String, String> transportOptions = new LinkedHashMap<>();
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
        private int dtlsMtu = StreamServerOptions.DEFAULT_DTLS_MTU;

        private Builder(InetSocketAddress server, TlsCredentials credentials) {
            this.server = Objects.requireNonNull(server, "server");
            this.credentials = Objects.requireNonNull(credentials, "credentials");
        }

        /**
         * Changes the server address.
         *
         * @param server the address
         * @return this builder
         */
        public Builder server(InetSocketAddress server) {
            this.server = Objects.requireNonNull(server, "server");
            return this;
        }

        /**
         * Changes the certificate, key and trusted CAs.
         *
         * @param credentials the material
         * @return this builder
         */
        public Builder credentials(TlsCredentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        /**
         * Sets the name the server's certificate must carry (DNS or IP SAN).
         *
         * @param name the server name
         * @return this builder
         */
        public Builder serverName(String name) {
            Objects.requireNonNull(name, "serverName");
            if (name.isBlank()) {
                throw new IllegalArgumentException("serverName is blank");
            }
            this.serverName = name;
            return this;
        }

        /**
         * Picks a transport by name; null lets the registry choose.
         *
         * @param name the transport name, or null
         * @return this builder
         */
        public Builder transport(String name) {
            this.transport = name;
            return this;
        }

        /**
         * Sets a transport-specific option, such as {@code netty.io=nio} or {@code netty.ssl=jdk}.
         *
         * @param key   the option, prefixed with the transport's name
         * @param value its value
         * @return this builder
         */
        public Builder transportOption(String key, String value) {
            transportOptions.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * Bounds the TCP connect.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = StreamServerOptions.positive(timeout, "connectTimeout");
            return this;
        }

        /**
         * Bounds the TLS/DTLS handshake, and the wait for a health probe's answer.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder handshakeTimeout(Duration timeout) {
            this.handshakeTimeout = StreamServerOptions.positive(timeout, "handshakeTimeout");
            return this;
        }

        /**
         * Sizes DTLS handshake flights for this path MTU.
         *
         * @param mtu 256..65507 bytes
         * @return this builder
         */
        public Builder dtlsMtu(int mtu) {
            if (mtu < 256 || mtu > 65507) {
                throw new IllegalArgumentException("dtlsMtu " + mtu + " is outside 256..65507");
            }
            this.dtlsMtu = mtu;
            return this;
        }

        /**
         * Builds the options.
         *
         * @return the options
         */
        public StreamClientOptions build() {
            return new StreamClientOptions(this);
        }
    }
}

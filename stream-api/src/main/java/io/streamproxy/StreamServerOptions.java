package io.streamproxy;

import io.streamproxy.spi.DurationText;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The immutable settings of a {@link StreamServer}: its credentials, the addresses to bind for TCP and UDP (either
 * may be absent, not both), timeouts, capacity limits, the destination policy and the session listener. Build one
 * with {@link #builder(TlsCredentials)}; every setting but the credentials has a default that matches the original
 * agent where it had one, and a bounded value where it had none.
 */
public final class StreamServerOptions {
    /** Default bound on the handshake plus the header: 10 s. */
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** Default bound on dialling the destination: 10 s. */
    public static final Duration DEFAULT_DIAL_TIMEOUT = Duration.ofSeconds(10);
    /** Default time a UDP session may pass with no datagram either way before it is reaped: 5 minutes. */
    public static final Duration DEFAULT_UDP_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /** Default limit of concurrent sessions per protocol. */
    public static final int DEFAULT_MAX_SESSIONS = 4096;
    /** Default limit of concurrent handshakes (connections that have not yet sent a header) per protocol. */
    public static final int DEFAULT_MAX_HANDSHAKES = 256;
    /** Default limit of unfinished handshakes one source (an IPv4 address, an IPv6 /64) may hold per protocol. */
    public static final int DEFAULT_MAX_HANDSHAKES_PER_SOURCE = 32;
    /** Default path MTU that DTLS handshake flights are sized for. */
    public static final int DEFAULT_DTLS_MTU = 1200;

    private final TlsCredentials credentials;
    private final String transport;
    private final Map<String, String> transportOptions;
    private final InetSocketAddress tcpAddress;
    private final InetSocketAddress udpAddress;
    private final Duration headerTimeout;
    private final Duration dialTimeout;
    private final Duration udpIdleTimeout;
    private final int maxSessions;
    private final int maxHandshakes;
    private final int maxHandshakesPerSource;
    private final int dtlsMtu;
    private final int maxSessionsPerSource;
    private final double handshakeRate;
    private final int handshakeBurst;
    private final double handshakeRatePerSource;
    private final int handshakeBurstPerSource;
    private final boolean proxyProtocolV2;
    private final Duration tcpIdleTimeout;
    private final Duration halfCloseTimeout;
    private final Duration maxTunnelLifetime;
    private final DestinationPolicy policy;
    private final SessionListener listener;
    private final List<TlsRoute> routes;

    private StreamServerOptions(Builder b) {
        this.credentials = b.credentials;
        this.transport = b.transport;
        this.transportOptions = Map.copyOf(b.transportOptions);
        this.tcpAddress = b.tcpAddress;
        this.udpAddress = b.udpAddress;
        this.headerTimeout = b.headerTimeout;
        this.dialTimeout = b.dialTimeout;
        this.udpIdleTimeout = b.udpIdleTimeout;
        this.maxSessions = b.maxSessions;
        this.maxHandshakes = b.maxHandshakes;
        this.maxHandshakesPerSource = Math.min(b.maxHandshakesPerSource, b.maxHandshakes);
        this.dtlsMtu = b.dtlsMtu;
        this.maxSessionsPerSource = Math.min(b.maxSessionsPerSource, b.maxSessions);
        this.handshakeRate = b.handshakeRate;
        this.handshakeBurst = b.handshakeBurst;
        this.handshakeRatePerSource = b.handshakeRatePerSource;
        this.handshakeBurstPerSource = b.handshakeBurstPerSource;
        this.proxyProtocolV2 = b.proxyProtocolV2;
        this.tcpIdleTimeout = b.tcpIdleTimeout;
        this.halfCloseTimeout = b.halfCloseTimeout;
        this.maxTunnelLifetime = b.maxTunnelLifetime;
        this.policy = b.policy;
        this.listener = b.listener;
        this.routes = List.copyOf(b.routes);
    }

    /**
     * Starts a builder.
     *
     * @param credentials the server's certificate and key, and the CA that signs client certificates
     * @return a builder
     */
    public static Builder builder(TlsCredentials credentials) {
        return new Builder(credentials);
    }

    /** @return the server's credentials */
    public TlsCredentials credentials() {
        return credentials;
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

    /** @return the TCP bind address, or null for no TCP listener */
    public InetSocketAddress tcpAddress() {
        return tcpAddress;
    }

    /** @return the UDP bind address, or null for no UDP listener */
    public InetSocketAddress udpAddress() {
        return udpAddress;
    }

    /** @return the bound on handshake plus header */
    public Duration headerTimeout() {
        return headerTimeout;
    }

    /** @return the bound on dialling a destination */
    public Duration dialTimeout() {
        return dialTimeout;
    }

    /** @return how long a UDP session may be idle before it is reaped */
    public Duration udpIdleTimeout() {
        return udpIdleTimeout;
    }

    /** @return the limit of concurrent sessions per protocol */
    public int maxSessions() {
        return maxSessions;
    }

    /** @return the limit of concurrent handshakes per protocol */
    public int maxHandshakes() {
        return maxHandshakes;
    }

    /** @return the limit of unfinished handshakes of one source (IPv4 address, IPv6 /64) per protocol */
    public int maxHandshakesPerSource() {
        return maxHandshakesPerSource;
    }

    /** @return the limit of sessions one source (IPv4 address, IPv6 /64) may relay at once, per protocol */
    public int maxSessionsPerSource() {
        return maxSessionsPerSource;
    }

    /** @return new handshakes admitted per second, per protocol (a token bucket); 0 for no limit */
    public double handshakeRate() {
        return handshakeRate;
    }

    /** @return how many new handshakes may come at once above {@link #handshakeRate()} (the bucket's size) */
    public int handshakeBurst() {
        return handshakeBurst;
    }

    /** @return new handshakes admitted per second from one source, per protocol; 0 for no limit */
    public double handshakeRatePerSource() {
        return handshakeRatePerSource;
    }

    /** @return the burst of new handshakes one source may start above {@link #handshakeRatePerSource()} */
    public int handshakeBurstPerSource() {
        return handshakeBurstPerSource;
    }

    /** @return how long a TCP tunnel may relay no byte either way before it is ended; zero for no bound */
    public Duration tcpIdleTimeout() {
        return tcpIdleTimeout;
    }

    /** @return how long a TCP tunnel may live once one direction has ended; zero for no bound */
    public Duration halfCloseTimeout() {
        return halfCloseTimeout;
    }

    /** @return how long a TCP tunnel may relay at all; zero for no bound */
    public Duration maxTunnelLifetime() {
        return maxTunnelLifetime;
    }

    /** @return true when sessions send a PROXY protocol v2 header to the destination (UDP: before each datagram) */
    public boolean proxyProtocolV2() {
        return proxyProtocolV2;
    }

    /** @return the path MTU DTLS handshake flights are sized for */
    public int dtlsMtu() {
        return dtlsMtu;
    }

    /** @return the destination policy */
    public DestinationPolicy policy() {
        return policy;
    }

    /** @return the session listener */
    public SessionListener listener() {
        return listener;
    }

    /** @return the routes served beside the tunnels on the TLS port, by ALPN (empty by default) */
    public List<TlsRoute> routes() {
        return routes;
    }

    /**
     * Returns the ALPN ids the TLS port advertises: the stream's first, then each route's.
     *
     * @return the ids, without repeats
     */
    public List<String> alpnProtocols() {
        List<String> ids = new ArrayList<>();
        ids.add("godoxy-agent-stream/1");
        for (TlsRoute r : routes) {
            for (String p : r.protocols()) {
                if (!ids.contains(p)) {
                    ids.add(p);
                }
            }
        }
        return ids;
    }

    /**
     * Finds the route a handshaken connection goes to.
     *
     * @param alpn the negotiated ALPN id, null or empty for none
     * @return the route, or null for a tunnel (or a refusal)
     */
    public TlsRoute routeFor(String alpn) {
        for (TlsRoute r : routes) {
            if (alpn == null || alpn.isEmpty() ? r.servesNoAlpn() : r.protocols().contains(alpn)) {
                return r;
            }
        }
        return null;
    }

    /**
     * Returns a builder that starts from these settings.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        Builder b = new Builder(credentials);
        b.transport = transport;
        b.transportOptions.putAll(transportOptions);
        b.tcpAddress = tcpAddress;
        b.udpAddress = udpAddress;
        b.headerTimeout = headerTimeout;
        b.dialTimeout = dialTimeout;
        b.udpIdleTimeout = udpIdleTimeout;
        b.maxSessions = maxSessions;
        b.maxHandshakes = maxHandshakes;
        b.maxHandshakesPerSource = maxHandshakesPerSource;
        b.dtlsMtu = dtlsMtu;
        b.maxSessionsPerSource = maxSessionsPerSource;
        b.handshakeRate = handshakeRate;
        b.handshakeBurst = handshakeBurst;
        b.handshakeRatePerSource = handshakeRatePerSource;
        b.handshakeBurstPerSource = handshakeBurstPerSource;
        b.proxyProtocolV2 = proxyProtocolV2;
        b.tcpIdleTimeout = tcpIdleTimeout;
        b.halfCloseTimeout = halfCloseTimeout;
        b.maxTunnelLifetime = maxTunnelLifetime;
        b.policy = policy;
        b.listener = listener;
        b.routes.addAll(routes);
        return b;
    }

    @Override
    public String toString() {
        return "StreamServerOptions{transport=" + (transport == null ? "auto" : transport) + ", transportOptions=" + transportOptions + ", tcp=" + tcpAddress
                + ", udp=" + udpAddress + ", headerTimeout=" + headerTimeout + ", dialTimeout=" + dialTimeout
                + ", udpIdleTimeout=" + udpIdleTimeout + ", maxSessions=" + maxSessions + ", maxHandshakes="
                + maxHandshakes + ", maxHandshakesPerSource=" + maxHandshakesPerSource + ", dtlsMtu=" + dtlsMtu + ", credentials=" + credentials + "}";
    }

    /** Collects the settings of a {@link StreamServerOptions}. */
    public static final class Builder {
        private final TlsCredentials credentials;
        private String transport;
        private final Map<String, String> transportOptions = new LinkedHashMap<>();
        private InetSocketAddress tcpAddress;
        private InetSocketAddress udpAddress;
        private Duration headerTimeout = DEFAULT_HEADER_TIMEOUT;
        private Duration dialTimeout = DEFAULT_DIAL_TIMEOUT;
        private Duration udpIdleTimeout = DEFAULT_UDP_IDLE_TIMEOUT;
        private int maxSessions = DEFAULT_MAX_SESSIONS;
        private int maxHandshakes = DEFAULT_MAX_HANDSHAKES;
        private int maxHandshakesPerSource = DEFAULT_MAX_HANDSHAKES_PER_SOURCE;
        private int dtlsMtu = DEFAULT_DTLS_MTU;
        private int maxSessionsPerSource = Integer.MAX_VALUE;
        private double handshakeRate;
        private int handshakeBurst;
        private double handshakeRatePerSource;
        private int handshakeBurstPerSource;
        private boolean proxyProtocolV2;
        private Duration tcpIdleTimeout = Duration.ZERO;
        private Duration halfCloseTimeout = Duration.ZERO;
        private Duration maxTunnelLifetime = Duration.ZERO;
        private DestinationPolicy policy = DestinationPolicy.allowAll();
        private SessionListener listener = SessionListener.NONE;
        private final List<TlsRoute> routes = new ArrayList<>();

        private Builder(TlsCredentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
        }

        /**
         * Picks a transport by name ({@code jdk}, {@code netty}, {@code bc}); null lets the registry choose.
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
         * Listens for TCP-over-TLS tunnels on this address (port 0 picks a free port); null for none.
         *
         * @param address the bind address, or null
         * @return this builder
         */
        public Builder tcp(InetSocketAddress address) {
            this.tcpAddress = address;
            return this;
        }

        /**
         * Listens for UDP-over-DTLS tunnels on this address (port 0 picks a free port); null for none.
         *
         * @param address the bind address, or null
         * @return this builder
         */
        public Builder udp(InetSocketAddress address) {
            this.udpAddress = address;
            return this;
        }

        /**
         * Bounds the TLS/DTLS handshake plus the header read, counted from accept.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder headerTimeout(Duration timeout) {
            this.headerTimeout = positive(timeout, "headerTimeout");
            return this;
        }

        /**
         * Bounds dialling the destination.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder dialTimeout(Duration timeout) {
            this.dialTimeout = positive(timeout, "dialTimeout");
            return this;
        }

        /**
         * Reaps a UDP session after this long with no datagram in either direction.
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder udpIdleTimeout(Duration timeout) {
            this.udpIdleTimeout = positive(timeout, "udpIdleTimeout");
            return this;
        }

        /**
         * Limits concurrent sessions per protocol; connections beyond it are refused with
         * {@link RefusalReason#CAPACITY}.
         *
         * @param max at least 1
         * @return this builder
         */
        public Builder maxSessions(int max) {
            this.maxSessions = atLeastOne(max, "maxSessions");
            return this;
        }

        /**
         * Limits concurrent handshakes (accepted, no header yet) per protocol. At the limit a TCP server stops
         * accepting (new connections wait in the listen backlog, they are not refused) and a UDP server drops
         * ClientHellos (clients retransmit them).
         *
         * @param max at least 1
         * @return this builder
         */
        public Builder maxHandshakes(int max) {
            this.maxHandshakes = atLeastOne(max, "maxHandshakes");
            return this;
        }

        /**
         * Limits the unfinished handshakes one source (an IPv4 address, or an IPv6 /64) may hold per protocol once
         * half the server's handshake slots are held, so that one host cannot take every slot (below half, a burst
         * of one host is not held back). A TCP connection from a source at its limit waits, without a TLS engine,
         * for at most the header timeout until one of that source's handshakes ends (its own deadline then starts);
         * a UDP ClientHello from such a source is dropped (counted), and the client retransmits it.
         *
         * @param max at least 1
         * @return this builder
         */
        public Builder maxHandshakesPerSource(int max) {
            this.maxHandshakesPerSource = atLeastOne(max, "maxHandshakesPerSource");
            return this;
        }

        /**
         * Limits the sessions one source (an IPv4 address, or an IPv6 /64) may relay at once per protocol; a header
         * past it is refused with {@link RefusalReason#SOURCE_LIMIT}. No limit by default (only
         * {@link #maxSessions}).
         *
         * @param max at least 1
         * @return this builder
         */
        public Builder maxSessionsPerSource(int max) {
            this.maxSessionsPerSource = atLeastOne(max, "maxSessionsPerSource");
            return this;
        }

        /**
         * Limits the rate of new handshakes per protocol with a token bucket of {@code burst} tokens refilled at
         * {@code perSecond}: a TCP connection that finds it empty is closed at once and refused with
         * {@link RefusalReason#RATE_LIMITED}, a UDP ClientHello is dropped (counted; the client retransmits). Off
         * by default.
         *
         * @param perSecond tokens per second, more than 0
         * @param burst     the bucket's size, at least 1
         * @return this builder
         */
        public Builder handshakeRate(double perSecond, int burst) {
            this.handshakeRate = positiveRate(perSecond, "handshakeRate");
            this.handshakeBurst = atLeastOne(burst, "handshakeBurst");
            return this;
        }

        /**
         * Limits the rate of new handshakes of each source (an IPv4 address, or an IPv6 /64) per protocol, as
         * {@link #handshakeRate} does for the server. The server remembers the buckets of the 65,536 sources
         * seen last. Off by default.
         *
         * @param perSecond tokens per second, more than 0
         * @param burst     the bucket's size, at least 1
         * @return this builder
         */
        public Builder handshakeRatePerSource(double perSecond, int burst) {
            this.handshakeRatePerSource = positiveRate(perSecond, "handshakeRatePerSource");
            this.handshakeBurstPerSource = atLeastOne(burst, "handshakeBurstPerSource");
            return this;
        }

        /**
         * Ends a TCP tunnel that relays no byte either way for this long (the session core's timer; the transport
         * closes both connections and the session is reported with its byte counts and the reason). Zero, the
         * default, for no bound: TCP keepalive already finds peers that vanished.
         *
         * @param timeout zero or positive
         * @return this builder
         */
        public Builder tcpIdleTimeout(Duration timeout) {
            this.tcpIdleTimeout = notNegative(timeout, "tcpIdleTimeout");
            return this;
        }

        /**
         * Ends a TCP tunnel this long after its first direction ended (a half-closed tunnel whose other side never
         * ends). Zero, the default, for no bound. The core looks at a tunnel that has not half-closed yet at least
         * every second, so the end comes within the timeout plus one second.
         *
         * @param timeout zero or positive
         * @return this builder
         */
        public Builder halfCloseTimeout(Duration timeout) {
            this.halfCloseTimeout = notNegative(timeout, "halfCloseTimeout");
            return this;
        }

        /**
         * Ends a TCP tunnel that has relayed for this long, however busy. Zero, the default, for no bound.
         *
         * @param lifetime zero or positive
         * @return this builder
         */
        public Builder maxTunnelLifetime(Duration lifetime) {
            this.maxTunnelLifetime = notNegative(lifetime, "maxTunnelLifetime");
            return this;
        }

        private static Duration notNegative(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative, not " + DurationText.of(d));
            }
            return d;
        }

        /**
         * Sends a PROXY protocol version 2 header to each destination: on TCP before any payload, on UDP before
         * every datagram (a UDP destination keeps no connection to tie later datagrams to a first header); source
         * = the tunnel's client, destination = the server's address the client connected to (UDP: the address the
         * server's socket is bound to), and the client certificate's CN in a {@code PP2_TYPE_SSL} TLV. Off by
         * default (a GoDoxy client sends its own header inside the tunnel).
         *
         * @param on true to send it
         * @return this builder
         */
        public Builder proxyProtocolV2(boolean on) {
            this.proxyProtocolV2 = on;
            return this;
        }

        private static double positiveRate(double v, String what) {
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException(what + " must be a positive number, not " + v);
            }
            return v;
        }

        /**
         * Sizes DTLS handshake flights for this path MTU; application datagrams are never split by it.
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
         * Sets which destinations may be dialled (default: all).
         *
         * @param policy the policy
         * @return this builder
         */
        public Builder policy(DestinationPolicy policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * Sets the listener of session events.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder listener(SessionListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Serves a route beside the tunnels on the TLS port, chosen by ALPN (see {@link TlsRoute}); repeatable.
         *
         * @param route the route; its ALPN ids may not be the stream's
         * @return this builder
         */
        public Builder route(TlsRoute route) {
            Objects.requireNonNull(route, "route");
            if (route.protocols().isEmpty() || route.protocols().contains("godoxy-agent-stream/1")) {
                throw new IllegalArgumentException("a route needs ALPN ids of its own, not the stream's: "
                        + route.protocols());
            }
            routes.add(route);
            return this;
        }

        /**
         * Builds the options.
         *
         * @return the options
         * @throws IllegalStateException if neither a TCP nor a UDP address is set
         */
        public StreamServerOptions build() {
            if (tcpAddress == null && udpAddress == null) {
                throw new IllegalStateException("set a TCP address, a UDP address, or both");
            }
            return new StreamServerOptions(this);
        }
    }

    static Duration positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + DurationText.of(d));
        }
        return d;
    }

    static int atLeastOne(int v, String name) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + v);
        }
        return v;
    }
}

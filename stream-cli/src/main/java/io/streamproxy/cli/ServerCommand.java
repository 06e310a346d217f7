package io.streamproxy.cli;

import io.streamproxy.Protocol;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stream-proxy server}: assembled only from the public API, so it is exactly the server the conformance kit
 * certifies: a {@link StreamServer} of the chosen TCP transport with the HTTPS API installed as a route beside the
 * tunnels on its TLS port (by ALPN), a {@link StreamServer} for UDP, destination rules, Prometheus metrics, an
 * optional access log, certificates reloaded on SIGHUP, on a change of their files and periodically
 * ({@link CertificateReloader}); SIGTERM or SIGINT drains ({@code /healthz} answers 503 meanwhile), a second one
 * closes everything at once; either way it exits 0.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run a stream server. Prints 'listening tcp=IP:PORT udp=IP:PORT transport=NAME' when ready.")
final class ServerCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ServerCommand.class);

    @Spec
    CommandSpec spec;

    @Mixin
    CertificateFiles files = new CertificateFiles();

    @Option(names = "--tcp", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8890",
            converter = Values.Address.class, description = "TCP/TLS listen address (default: ${DEFAULT-VALUE}).")
    InetSocketAddress tcp;

    @Option(names = "--udp", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8890",
            converter = Values.Address.class, description = "UDP/DTLS listen address (default: ${DEFAULT-VALUE}).")
    InetSocketAddress udp;

    @Option(names = "--transport", paramLabel = "NAME", description = "A transport the registry finds "
            + "(default: the best available for each protocol; one that offers only UDP serves UDP).")
    String transport;

    @Option(names = "--transport-option", paramLabel = "KEY=VALUE", description = "A transport's own setting, "
            + "for example netty.ssl=jdk or netty.io=nio (repeatable).")
    Map<String, String> transportOptions = new LinkedHashMap<>();

    @Option(names = "--allow", paramLabel = "RULE", description = "Only dial matching destinations: "
            + "[CLIENT@]CIDR[:PORT[-PORT]] or [CLIENT@]HOST[:PORT[-PORT]], CLIENT being cn=NAME, dns=NAME, uri=URI "
            + "or key=SHA256 of the client certificate (repeatable).")
    List<String> allow = new ArrayList<>();

    @Option(names = "--deny", paramLabel = "RULE", description = "Never dial matching destinations (repeatable).")
    List<String> deny = new ArrayList<>();

    @Option(names = "--no-http", description = "Serve no HTTPS API.")
    boolean noHttp;

    @Option(names = "--header-timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = Values.PositiveDurationValue.class, description = "Bound on handshake plus header (${DEFAULT-VALUE}).")
    Duration headerTimeout;

    @Option(names = "--dial-timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = Values.PositiveDurationValue.class, description = "Bound on dialling (${DEFAULT-VALUE}).")
    Duration dialTimeout;

    @Option(names = "--udp-idle-timeout", paramLabel = "DURATION", defaultValue = "5m",
            converter = Values.PositiveDurationValue.class, description = "Reap idle UDP sessions (${DEFAULT-VALUE}).")
    Duration udpIdleTimeout;

    @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "4096", description = "Sessions relaying at "
            + "once, per protocol; a header past it is refused with CAPACITY (${DEFAULT-VALUE}).")
    int maxSessions;

    @Option(names = "--max-handshakes", paramLabel = "N", defaultValue = "256", description = "Unfinished handshakes "
            + "at once, per protocol; at the limit TCP stops accepting (clients wait in the backlog) and UDP drops "
            + "ClientHellos, which clients retransmit (${DEFAULT-VALUE}).")
    int maxHandshakes;

    @Option(names = "--max-handshakes-per-source", paramLabel = "N", defaultValue = "32", description = "Unfinished "
            + "handshakes of one source (IPv4 address, IPv6 /64), so that one host cannot hold every slot; its "
            + "next TCP connections wait for its own slots (${DEFAULT-VALUE}).")
    int maxHandshakesPerSource;

    @Option(names = "--max-sessions-per-source", paramLabel = "N", description = "Sessions one source (IPv4 "
            + "address, IPv6 /64) may relay at once, per protocol; a header past it is refused with SOURCE_LIMIT "
            + "(default: no limit but --max-sessions).")
    Integer maxSessionsPerSource;

    @Option(names = "--handshake-rate", paramLabel = "RATE[/BURST]", converter = Values.RateValue.class,
            description = "New handshakes per second, per protocol, as a token bucket (BURST defaults to RATE): "
            + "a TCP connection over it is closed and refused as RATE_LIMITED, a UDP ClientHello dropped "
            + "(default: no limit).")
    Values.Rate handshakeRate;

    @Option(names = "--handshake-rate-per-source", paramLabel = "RATE[/BURST]", converter = Values.RateValue.class,
            description = "The same for each source (IPv4 address, IPv6 /64) (default: no limit).")
    Values.Rate handshakeRatePerSource;

    @Option(names = "--tcp-idle-timeout", paramLabel = "DURATION", defaultValue = "0s",
            converter = Values.DurationValue.class, description = "End a TCP tunnel that moves no byte either way "
            + "for this long; 0s for no bound (${DEFAULT-VALUE}).")
    Duration tcpIdleTimeout;

    @Option(names = "--half-close-timeout", paramLabel = "DURATION", defaultValue = "0s",
            converter = Values.DurationValue.class, description = "End a TCP tunnel this long after one direction "
            + "ended; 0s for no bound (${DEFAULT-VALUE}).")
    Duration halfCloseTimeout;

    @Option(names = "--max-tunnel-lifetime", paramLabel = "DURATION", defaultValue = "0s",
            converter = Values.DurationValue.class, description = "End a TCP tunnel that has relayed this long; "
            + "0s for no bound (${DEFAULT-VALUE}).")
    Duration maxTunnelLifetime;

    @Option(names = "--proxy-protocol", paramLabel = "VERSION", description = "Send a PROXY protocol header of "
            + "this version (only v2) to each destination, TCP: first, UDP: before every datagram; source = the "
            + "tunnel's client, destination = this server's address, the client certificate's CN in a TLV "
            + "(default: none).")
    String proxyProtocol;

    @Option(names = "--agent-name", paramLabel = "NAME", description = "The name /godoxy/agent/info reports to "
            + "GoDoxy (default: this host's name).")
    String agentName;

    @Option(names = "--agent-runtime", paramLabel = "RUNTIME", defaultValue = "docker", description = "The "
            + "container runtime /godoxy/agent/info reports to GoDoxy: docker or podman (default: ${DEFAULT-VALUE}).")
    String agentRuntime;

    @Option(names = "--reload-interval", paramLabel = "DURATION", defaultValue = "5m",
            converter = Values.DurationValue.class, description = "How often the certificate files' content is "
            + "checked and reloaded when it changed; 0s turns the check off (SIGHUP and a change in their folders "
            + "reload too) (${DEFAULT-VALUE}).")
    Duration reloadInterval;

    @Option(names = "--drain-timeout", paramLabel = "DURATION", defaultValue = "30s",
            converter = Values.DurationValue.class, description = "On SIGTERM, how long live tunnels and UDP "
            + "sessions may go on while no new one is admitted; then the rest are ended and the server exits 0 "
            + "(a second SIGTERM ends everything at once) (${DEFAULT-VALUE}).")
    Duration drainTimeout;

    @Option(names = "--access-log", paramLabel = "FILE", description = "Write one JSON line per ended or refused "
            + "session to FILE (appended), or to standard output with '-'.")
    String accessLog;

    private static int atLeastOne(int n, String option) {
        if (n < 1) {
            throw new CliException(option + " must be at least 1, not " + n);
        }
        return n;
    }

    /** Released by SIGTERM/SIGINT (or a test) to stop the server. */
    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        if (!agentRuntime.equals("docker") && !agentRuntime.equals("podman")) {
            throw new CliException("--agent-runtime must be docker or podman (the values GoDoxy accepts), not '"
                    + agentRuntime + "'");
        }
        TlsCredentials credentials = files.load("server");
        Metrics metrics = new Metrics();
        StreamServerOptions base = StreamServerOptions.builder(credentials)
                .tcp(tcp).policy(DestinationRules.parse(allow, deny)).listener(metrics)
                .headerTimeout(headerTimeout).dialTimeout(dialTimeout).udpIdleTimeout(udpIdleTimeout)
                .maxSessions(atLeastOne(maxSessions, "--max-sessions"))
                .maxHandshakes(atLeastOne(maxHandshakes, "--max-handshakes"))
                .maxHandshakesPerSource(atLeastOne(maxHandshakesPerSource, "--max-handshakes-per-source"))
                .build();
        StreamServerOptions.Builder limits = base.toBuilder();
        transportOptions.forEach(limits::transportOption);
        if (maxSessionsPerSource != null) {
            limits.maxSessionsPerSource(atLeastOne(maxSessionsPerSource, "--max-sessions-per-source"));
        }
        if (handshakeRate != null) {
            limits.handshakeRate(handshakeRate.perSecond(), handshakeRate.burst());
        }
        if (handshakeRatePerSource != null) {
            limits.handshakeRatePerSource(handshakeRatePerSource.perSecond(), handshakeRatePerSource.burst());
        }
        limits.tcpIdleTimeout(tcpIdleTimeout).halfCloseTimeout(halfCloseTimeout)
                .maxTunnelLifetime(maxTunnelLifetime);
        if (proxyProtocol != null) {
            if (!proxyProtocol.equals("v2")) {
                throw new CliException("--proxy-protocol takes v2, not '" + proxyProtocol + "'");
            }
            limits.proxyProtocolV2(true);
        }
        base = limits.build();
        TransportRegistry registry = TransportRegistry.getDefault();
        TransportProvider tcpProvider;
        TransportProvider udpProvider;
        try {
            tcpProvider = registry.select(Protocol.TCP, offers(registry, transport, Protocol.TCP) ? transport : null);
            udpProvider = registry.select(Protocol.UDP, offers(registry, transport, Protocol.UDP) ? transport : null);
            if (transport != null && !offers(registry, transport, Protocol.TCP)
                    && !offers(registry, transport, Protocol.UDP)) {
                registry.select(Protocol.TCP, transport); // throws: names what exists
            }
        } catch (IOException e) {
            throw new CliException(e.getMessage(), e);
        }
        List<Closeable> open = new ArrayList<>();
        if (accessLog != null) {
            Map<Protocol, String> transports = new EnumMap<>(Protocol.class);
            transports.put(Protocol.TCP, tcpProvider.name());
            transports.put(Protocol.UDP, udpProvider.name());
            AccessLog log;
            try {
                log = AccessLog.open(accessLog, transports, metrics);
            } catch (IOException e) {
                throw new CliException("--access-log " + accessLog + ": " + e.getMessage(), e);
            }
            open.add(log); // closed last, after the servers' final sessions are written
            base = base.toBuilder().listener(new FanOutListener(List.of(metrics, log))).build();
        }
        StreamServerOptions.Builder tcpOptions = base.toBuilder().transport(tcpProvider.name());
        ServerHealth serverHealth = new ServerHealth(credentials);
        if (!noHttp) {
            RouteHealth health = new RouteHealth(base.policy());
            open.add(health);
            tcpOptions.route(new HttpApiRoute(metrics, new GodoxyAgentApi(
                    agentName != null ? agentName : hostName(), agentRuntime, health),
                    () -> serverHealth.problem(java.time.Instant.now())));
        }
        try {
            StreamServer tcpServer = StreamServer.start(tcpOptions.build(), registry);
            open.add(tcpServer);
            StreamServer udpServer = StreamServer.start(base.toBuilder().tcp(null).udp(udp)
                    .transport(udpProvider.name()).build(), registry);
            open.add(udpServer);
            CertificateReloader reloader = new CertificateReloader(files.paths("server"), "server",
                    List.of(tcpServer::updateCredentials, udpServer::updateCredentials,
                            serverHealth::certificatesInUse), metrics, reloadInterval,
                    credentials);
            open.add(reloader);
            SystemdNotify systemd = SystemdNotify.fromEnvironment();
            if (systemd != null) {
                open.add(systemd);
            }
            // closed first: SIGHUP is the JVM's again before the reloader stops
            open.add(reloader.onSighup(() -> {
                if (systemd != null) {
                    systemd.reloading();
                }
            }, outcome -> {
                if (systemd != null) {
                    systemd.ready("certificate reload: " + outcome);
                }
            }));
            PrintWriter out = spec.commandLine().getOut();
            Lifecycle.runUntilDrained(stop, () -> {
                out.println("listening tcp=" + Values.text(tcpServer.tcpAddress()) + " udp="
                        + Values.text(udpServer.udpAddress()) + " transport=" + (transport != null ? transport
                        : tcpProvider.name()));
                out.flush();
                if (systemd != null) {
                    systemd.ready("listening tcp=" + Values.text(tcpServer.tcpAddress()) + " udp="
                            + Values.text(udpServer.udpAddress()));
                }
            }, () -> {
                serverHealth.draining();
                if (systemd != null) {
                    systemd.stopping();
                }
                LOG.info("draining: no new tunnels or UDP sessions; live ones have {}", Values.text(drainTimeout));
                drainBoth(tcpServer, udpServer, drainTimeout);
                closeAll(open);
            }, () -> {
                serverHealth.draining();
                closeAll(open);
            });
            return 0;
        } catch (IOException e) {
            throw new CliException(e.getMessage(), e);
        } finally {
            closeAll(open);
        }
    }

    /** Drains both servers at once, each within {@code timeout}. */
    private static void drainBoth(StreamServer tcpServer, StreamServer udpServer, Duration timeout) {
        Thread udpDrain = new Thread(() -> drain(udpServer, timeout), "stream-proxy-drain-udp");
        udpDrain.setDaemon(true);
        udpDrain.start();
        drain(tcpServer, timeout);
        try {
            udpDrain.join(timeout.plusSeconds(15).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void drain(StreamServer server, Duration timeout) {
        try {
            if (!server.drain(timeout)) {
                LOG.info("drain timeout reached: ending what is left");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            return env != null && !env.isEmpty() ? env : "stream-proxy";
        }
    }

    private static boolean offers(TransportRegistry registry, String name, Protocol protocol) {
        if (name == null) {
            return false;
        }
        return registry.providers().stream().anyMatch(p -> p.name().equals(name) && p.protocols().contains(protocol));
    }

    private static void closeAll(List<Closeable> open) {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (IOException | RuntimeException e) {
                // closing
            }
        }
    }
}

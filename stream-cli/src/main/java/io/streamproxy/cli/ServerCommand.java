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
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stream-proxy server}: TCP tunnels and the HTTPS API on one TLS port (by ALPN), UDP tunnels on a UDP port,
 * destination rules, Prometheus metrics; SIGTERM or SIGINT closes everything and exits 0.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run a stream server. Prints 'listening tcp=IP:PORT udp=IP:PORT transport=NAME' when ready.")
final class ServerCommand implements Callable<Integer> {
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

    @Option(names = "--transport", paramLabel = "NAME", description = "jdk, netty or bc (default: the best).")
    String transport;

    @Option(names = "--allow", paramLabel = "RULE", description = "Only dial matching destinations: "
            + "CIDR[:PORT[-PORT]] or HOST[:PORT[-PORT]] (repeatable).")
    List<String> allow = new ArrayList<>();

    @Option(names = "--deny", paramLabel = "RULE", description = "Never dial matching destinations (repeatable).")
    List<String> deny = new ArrayList<>();

    @Option(names = "--no-http", description = "Serve no HTTPS API.")
    boolean noHttp;

    @Option(names = "--http", paramLabel = "HOST:PORT", converter = Values.Address.class,
            description = "Own port for the HTTPS API, for transports whose TCP port cannot share it.")
    InetSocketAddress http;

    @Option(names = "--header-timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = Values.DurationValue.class, description = "Bound on handshake plus header (${DEFAULT-VALUE}).")
    Duration headerTimeout;

    @Option(names = "--dial-timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = Values.DurationValue.class, description = "Bound on dialling (${DEFAULT-VALUE}).")
    Duration dialTimeout;

    @Option(names = "--udp-idle-timeout", paramLabel = "DURATION", defaultValue = "5m",
            converter = Values.DurationValue.class, description = "Reap idle UDP sessions (${DEFAULT-VALUE}).")
    Duration udpIdleTimeout;

    /** Released by SIGTERM/SIGINT (or a test) to stop the server. */
    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        TlsCredentials credentials = files.load("server");
        Metrics metrics = new Metrics();
        StreamServerOptions base = StreamServerOptions.builder(credentials)
                .tcp(tcp).policy(DestinationRules.parse(allow, deny)).listener(metrics)
                .headerTimeout(headerTimeout).dialTimeout(dialTimeout).udpIdleTimeout(udpIdleTimeout)
                .build();
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
        PrintWriter err = spec.commandLine().getErr();
        try {
            InetSocketAddress tcpBound;
            if (tcpProvider.name().equals("netty") && !noHttp) {
                ApiServer api = new ApiServer(tcp, credentials, base, metrics);
                open.add(api);
                tcpBound = api.address();
            } else {
                StreamServer server = StreamServer.start(base.toBuilder().transport(tcpProvider.name()).build());
                open.add(server);
                tcpBound = server.tcpAddress();
                if (!noHttp) {
                    InetSocketAddress apiBind = http != null ? http
                            : new InetSocketAddress(tcp.getAddress(), 0);
                    ApiServer api = new ApiServer(apiBind, credentials, null, metrics);
                    open.add(api);
                    err.println("note: transport " + tcpProvider.name() + " cannot share its TCP port with the "
                            + "HTTPS API; the API listens on " + Values.text(api.address()));
                    err.flush();
                }
            }
            StreamServer udpServer = StreamServer.start(base.toBuilder().tcp(null).udp(udp)
                    .transport(udpProvider.name()).build());
            open.add(udpServer);
            PrintWriter out = spec.commandLine().getOut();
            out.println("listening tcp=" + Values.text(tcpBound) + " udp=" + Values.text(udpServer.udpAddress())
                    + " transport=" + (transport != null ? transport : tcpProvider.name()));
            out.flush();
            Lifecycle.runUntilStopped(stop, () -> closeAll(open));
            return 0;
        } catch (IOException e) {
            throw new CliException(e.getMessage(), e);
        } finally {
            closeAll(open);
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

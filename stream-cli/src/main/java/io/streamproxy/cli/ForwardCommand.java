package io.streamproxy.cli;

import com.google.common.net.HostAndPort;
import io.streamproxy.Destination;
import io.streamproxy.PortForward;
import io.streamproxy.StreamClient;
import io.streamproxy.TlsCredentials;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stream-proxy forward}: local port forwarding through a stream server; the client certificate, key and CA
 * reload from their files (SIGHUP, a change in their folders, a periodic check) for the tunnels opened after.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Forward a local port to HOST:PORT through the server. Prints "
                + "'forwarding LISTEN_IP:PORT -> HOST:PORT via SERVER' when ready.")
final class ForwardCommand implements Callable<Integer> {
    /** The JDK's switch that makes an SSLSocket fail on a FIN without close_notify (read once, JVM-wide). */
    static final String REQUIRE_CLOSE_NOTIFY = "com.sun.net.ssl.requireCloseNotify";
    @Spec
    CommandSpec spec;

    @Mixin
    CertificateFiles files = new CertificateFiles();

    @Option(names = "--server", required = true, paramLabel = "HOST:PORT", converter = Values.Address.class,
            description = "The stream server.")
    InetSocketAddress server;

    @Option(names = "--to", required = true, paramLabel = "HOST:PORT", converter = Values.Destination.class,
            description = "The destination, as the server dials it.")
    HostAndPort to;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:0",
            converter = Values.Address.class, description = "Local address (default: ${DEFAULT-VALUE}).")
    InetSocketAddress listen;

    @Option(names = "--udp", description = "Forward UDP (each local source gets its own session).")
    boolean udp;

    @Option(names = "--server-name", paramLabel = "NAME", description = "Name in the server certificate "
            + "(default: godoxy.agent).")
    String serverName;

    @Option(names = "--transport", paramLabel = "NAME", description = "jdk, netty or bc.")
    String transport;

    @Option(names = "--transport-option", paramLabel = "KEY=VALUE", description = "A transport's own setting, "
            + "for example netty.ssl=jdk or netty.io=nio (repeatable).")
    Map<String, String> transportOptions = new LinkedHashMap<>();

    @Option(names = "--udp-idle-timeout", paramLabel = "DURATION", defaultValue = "5m",
            converter = Values.PositiveDurationValue.class, description = "Close idle UDP flows (${DEFAULT-VALUE}).")
    Duration udpIdle;

    @Option(names = "--reload-interval", paramLabel = "DURATION", defaultValue = "5m",
            converter = Values.DurationValue.class, description = "How often the certificate files' content is "
            + "checked and reloaded when it changed, for the tunnels opened after; 0s turns the check off (SIGHUP "
            + "and a change in their folders reload too) (${DEFAULT-VALUE}).")
    Duration reloadInterval;

    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        // a forward only runs TLS clients, whose servers end a tunnel with close_notify: the JDK's SSLSocket (the
        // jdk transport) then fails a read that meets a bare FIN instead of taking it as the end, so that a server
        // that died mid-transfer resets the local client rather than ending it cleanly (netty checks it itself)
        if (System.getProperty(REQUIRE_CLOSE_NOTIFY) == null) {
            System.setProperty(REQUIRE_CLOSE_NOTIFY, "true");
        }
        Destination destination;
        try {
            destination = Destination.of(to.getHost(), to.getPort());
        } catch (IllegalArgumentException e) {
            throw new CliException("bad --to " + to + ": " + e.getMessage());
        }
        TlsCredentials credentials = files.load("client");
        try (StreamClient client = ClientFactory.create(server, credentials, serverName, transport,
                transportOptions, Duration.ofSeconds(10));
             CertificateReloader reloader = new CertificateReloader(files.paths("client"), "client",
                     List.of(client::updateCredentials), null, reloadInterval, credentials);
             Closeable sighup = reloader.onSighup(() -> { }, outcome -> { })) {
            PortForward forwarder;
            try {
                forwarder = udp ? client.forwardUdp(destination, listen, udpIdle)
                        : client.forwardTcp(destination, listen);
            } catch (IOException e) {
                throw new CliException(e.getMessage(), e);
            }
            InetSocketAddress bound = forwarder.address();
            try (PortForward ignored = forwarder) {
                PrintWriter out = spec.commandLine().getOut();
                Lifecycle.runUntilStopped(stop, () -> {
                    out.println("forwarding " + Values.text(bound) + " -> " + to + " via " + Values.text(server));
                    out.flush();
                }, () -> {
                    forwarder.close();
                    client.close();
                });
            }
        }
        return 0;
    }
}

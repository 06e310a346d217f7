package io.streamproxy.cli;

import io.streamproxy.HealthProbeException;
import io.streamproxy.StreamClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code stream-proxy probe}: a health probe, with the cause of a failure. */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = "Health-probe a stream server: exit 0 and 'ok tcp|udp HOST:PORT in N ms', or exit 1 and the "
                + "cause.")
final class ProbeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CertificateFiles files = new CertificateFiles();

    @Option(names = "--server", required = true, paramLabel = "HOST:PORT", converter = Values.Address.class,
            description = "The stream server.")
    InetSocketAddress server;

    @Option(names = "--udp", description = "Probe the UDP/DTLS side.")
    boolean udp;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = Values.PositiveDurationValue.class, description = "Bound on the whole probe (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--server-name", paramLabel = "NAME", description = "Name in the server certificate.")
    String serverName;

    @Option(names = "--transport", paramLabel = "NAME", description = "jdk, netty or bc.")
    String transport;

    @Override
    public Integer call() {
        String what = (udp ? "udp " : "tcp ") + Values.text(server);
        try (StreamClient client = ClientFactory.create(server, files.load("client"), serverName, transport,
                timeout)) {
            Duration took = udp ? client.probeUdp(timeout) : client.probeTcp(timeout);
            PrintWriter out = spec.commandLine().getOut();
            out.println("ok " + what + " in " + took.toMillis() + " ms");
            out.flush();
            return 0;
        } catch (HealthProbeException e) {
            PrintWriter err = spec.commandLine().getErr();
            String failure = e.failure().name().toLowerCase(Locale.ROOT).replace('_', ' ');
            String why = String.valueOf(e.getMessage());
            err.println("failed " + what + ": " + (why.startsWith(failure) ? why : failure + ": " + why));
            err.flush();
            return 1;
        } catch (IOException e) {
            throw new CliException(e.getMessage(), e);
        }
    }
}

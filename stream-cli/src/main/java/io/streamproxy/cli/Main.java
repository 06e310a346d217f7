package io.streamproxy.cli;

import java.io.PrintWriter;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code stream-proxy} command. Bad input (an unknown flag, a malformed address or rule, unreadable or
 * mismatched certificates, a port in use) is one line on standard error and exit code 2; {@code --verbose} adds
 * the stack trace.
 */
@Command(name = "stream-proxy", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "TCP over TLS and UDP over DTLS tunnels, wire-compatible with GoDoxy's agent.",
        subcommands = {CertsCommand.class, ServerCommand.class, ForwardCommand.class, ProbeCommand.class,
                DemoCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required: certs, server, "
                + "forward, probe or demo");
    }

    /**
     * Runs the command line.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        processDefaults(System.getProperties());
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Netty's leak detector level: {@code disabled} in the command's own process unless the operator sets it. */
    static final String LEAK_DETECTION = "io.netty.leakDetection.level";

    /**
     * Settings for the process that runs the command, applied before any Netty class is loaded. Netty's sampled
     * leak detector is off unless {@code -Dio.netty.leakDetection.level} says otherwise (STREAM_PROXY_JAVA_OPTS):
     * it records two stack traces for one pooled buffer in 128, which on a relay costs about 2 % of the CPU and puts
     * tens of microseconds on some round trips (measured: the forward-and-server round trip's p99 fell from 1.2-1.7x
     * socat's to about 1.0x with it off). Leaks are caught by the tests instead: the Netty transport's run with every
     * buffer tracked and fail on a report; an operator hunting a leak sets the level back.
     */
    static void processDefaults(Properties properties) {
        if (properties.getProperty(LEAK_DETECTION) == null) {
            properties.setProperty(LEAK_DETECTION, "disabled");
        }
    }

    /**
     * Runs the command line with the given streams (tests call this).
     *
     * @param args the arguments
     * @param out  standard output
     * @param err  standard error
     * @return the exit code
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return commandLine(out, err).execute(args);
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, args) -> {
            err.println("stream-proxy: " + ex.getMessage());
            err.flush();
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            err.println("stream-proxy: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            if (verbose) {
                ex.printStackTrace(err);
            }
            err.flush();
            return 2;
        });
        return cl;
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"stream-proxy " + (v != null ? v : "0.1.0-SNAPSHOT")};
        }
    }
}

package io.streamproxy.testkit;

import io.streamproxy.protocol.HostSyntax;
import java.net.InetAddress;

/**
 * Settings of the live fuzzers ({@link TcpFrontFuzzer}, {@link UdpFrontFuzzer}). In a regression run (the corpus
 * replayed by every build) a real tunnel is checked after every input; when Jazzer fuzzes ({@code JAZZER_FUZZ} set),
 * after every {@code -Dstreamproxy.fuzz.checkEvery=N} inputs (default 25), so that each input stays fast, and always
 * when the fuzz test ends.
 */
public final class FuzzSettings {
    private static final int FUZZING_DEFAULT = 25;

    private FuzzSettings() {
    }

    /** @return whether Jazzer is fuzzing in this JVM (the environment variable {@code JAZZER_FUZZ} is not empty) */
    public static boolean isFuzzing() {
        String env = System.getenv("JAZZER_FUZZ");
        return env != null && !env.isEmpty();
    }

    /**
     * Tells whether a host and port are on loopback: the only place the fuzzers connect to (a predicate for Jazzer's
     * {@code BugDetectors.allowNetworkConnections}).
     *
     * @param host the host connected to
     * @param port the port
     * @return true for 127.0.0.0/8, ::1 and localhost
     */
    public static boolean isLoopback(String host, Integer port) {
        if (host.equals("localhost")) {
            return true;
        }
        try {
            return HostSyntax.literal(host).map(InetAddress::isLoopbackAddress).orElse(false);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** @return after how many inputs a fuzzer checks a real tunnel */
    public static int checkEvery() {
        if (!isFuzzing()) {
            return 1;
        }
        return Math.max(1, Integer.getInteger("streamproxy.fuzz.checkEvery", FUZZING_DEFAULT));
    }
}

package io.streamproxy.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The short variant of {@link LoadSoak} for every transport of the reactor, with the server's default options:
 * 300 TCP tunnels at once with 64 KiB each way (CRC32 per direction), 50 DTLS sessions at once with 100 numbered
 * datagrams each in lockstep, 2000 short tunnels 32 at a time. Every tunnel and session must succeed, the server must
 * refuse none, no checksum may differ, no datagram may come back corrupted and at most 1% may be lost (loopback
 * loses none in practice; a reply is awaited 1 s, without retransmission). After each phase, with the server still
 * running, the file descriptors must come back to the baseline taken after a warm-up, and once the server is closed
 * the threads and file descriptors to the baseline taken before it started. No timing is asserted.
 */
class LoadSoakShortTest {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"jdk", "netty", "netty-openssl", "bc"})
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void shortLoad_losesNothing_refusesNothing_andLeavesNothingBehind(String transport) throws Exception {
        LoadSoak.Config config = LoadSoak.Config.quick();
        long limit = LoadSoak.fileDescriptorLimit();
        assertThat(limit < 0 || limit >= config.fileDescriptorsNeeded())
                .as("open-file limit %d, the run needs %d", limit, config.fileDescriptorsNeeded()).isTrue();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<LoadSoak.PhaseResult> results;
        try (PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8)) {
            results = LoadSoak.run(List.of(LoadSoak.Variant.named(transport)), config, out);
        }
        String report = log.toString(StandardCharsets.UTF_8);
        System.out.println(report);
        List<String> problems = new ArrayList<>();
        List<String> phases = new ArrayList<>();
        for (LoadSoak.PhaseResult r : results) {
            problems.addAll(r.problems());
            phases.add(r.phase());
            if (!r.phase().equals("end")) {
                assertThat(r.checks()).as("phase %s has its resource checks", r.phase()).hasSize(2);
            }
        }
        LoadSoak.Variant v = LoadSoak.Variant.named(transport);
        List<String> expected = new ArrayList<>();
        if (v.tcp()) {
            expected.add("a");
        }
        if (v.udp()) {
            expected.add("b");
        }
        if (v.tcp()) {
            expected.add("c");
        }
        expected.add("end");
        assertThat(phases).as("phases run").isEqualTo(expected);
        assertThat(problems).as("%s", report).isEmpty();
    }
}

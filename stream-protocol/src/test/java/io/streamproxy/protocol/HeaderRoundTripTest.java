package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HeaderRoundTripTest {
    private static final long SEED = 20261124L;
    private static final String HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-:éü漢";

    @Test
    void randomHeaders_roundTripExactly_withFixedSeed() throws Exception {
        Random random = new Random(SEED);
        for (int i = 0; i < 5000; i++) {
            String host = randomHost(random);
            String port = Integer.toString(1 + random.nextInt(65535));
            int flags = random.nextInt(256);

            byte[] header = HeaderCodec.encode(host, port, flags);
            StreamHeader decoded = HeaderCodec.decode(header, 0, header.length);

            assertThat(decoded).as("case %d", i).isEqualTo(new StreamHeader(host, port, flags));
            assertThat(HeaderCodec.encode(decoded.host(), decoded.port(), decoded.flags())).isEqualTo(header);
        }
    }

    private static String randomHost(Random random) {
        StringBuilder sb = new StringBuilder();
        int budget = 1 + random.nextInt(255);
        while (true) {
            char c = HOST_CHARS.charAt(random.nextInt(HOST_CHARS.length()));
            int bytes = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
            if (bytes > budget) {
                return sb.length() == 0 ? "h" : sb.toString();
            }
            budget -= bytes;
            sb.append(c);
        }
    }
}

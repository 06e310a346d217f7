package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

class NamedThreadsTest {
    private static boolean isVirtual(Thread t) throws ReflectiveOperationException {
        return Runtime.version().feature() >= 21 && (boolean) Thread.class.getMethod("isVirtual").invoke(t);
    }

    @Test
    void perConnectionThreads_areVirtualFromJava24_plainBefore_namedAndDaemonEither_way() throws Exception {
        ThreadFactory factory = NamedThreads.perConnection("test-session");
        Thread first = factory.newThread(() -> { });
        Thread second = factory.newThread(() -> { });
        assertThat(first.getName()).isEqualTo("test-session-1");
        assertThat(second.getName()).isEqualTo("test-session-2");
        assertThat(first.isDaemon()).isTrue();
        assertThat(isVirtual(first)).isEqualTo(Runtime.version().feature() >= 24);
    }

    @Test
    void perConnectionThreads_arePlain_whenTheOperatorSaysSo() throws Exception {
        String before = System.getProperty("io.streamproxy.virtualThreads");
        System.setProperty("io.streamproxy.virtualThreads", "false");
        try {
            Thread t = NamedThreads.perConnection("test-plain").newThread(() -> { });
            assertThat(isVirtual(t)).isFalse();
            assertThat(t.getName()).isEqualTo("test-plain-1");
        } finally {
            if (before == null) {
                System.clearProperty("io.streamproxy.virtualThreads");
            } else {
                System.setProperty("io.streamproxy.virtualThreads", before);
            }
        }
    }
}

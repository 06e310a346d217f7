package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

class NamedThreadsTest {
    private static boolean isVirtual(Thread t) throws ReflectiveOperationException {
        return Runtime.version().feature() >= 21 && (boolean) Thread.class.getMethod("isVirtual").invoke(t);
    }

    @Test
    void perConnectionThreads_arePlain_namedAndDaemon() throws Exception {
        ThreadFactory factory = NamedThreads.perConnection("test-session");
        Thread first = factory.newThread(() -> { });
        Thread second = factory.newThread(() -> { });
        assertThat(first.getName()).isEqualTo("test-session-1");
        assertThat(second.getName()).isEqualTo("test-session-2");
        assertThat(first.isDaemon()).isTrue();
        assertThat(isVirtual(first)).isFalse();
    }

    @Test
    void perConnectionThreads_areVirtual_whenTheOperatorAsks_fromJava24() throws Exception {
        String before = System.getProperty("io.streamproxy.virtualThreads");
        System.setProperty("io.streamproxy.virtualThreads", "true");
        try {
            Thread t = NamedThreads.perConnection("test-virtual").newThread(() -> { });
            assertThat(isVirtual(t)).isEqualTo(Runtime.version().feature() >= 24);
            assertThat(t.getName()).isEqualTo("test-virtual-1");
            assertThat(t.isDaemon()).isTrue();
        } finally {
            if (before == null) {
                System.clearProperty("io.streamproxy.virtualThreads");
            } else {
                System.setProperty("io.streamproxy.virtualThreads", before);
            }
        }
    }
}

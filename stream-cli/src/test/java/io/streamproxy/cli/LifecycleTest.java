package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How a long-running command ends: a SIGTERM that arrives the moment the command says it is ready reaches its drain,
 * not the JVM's default handler (which would end this test JVM with exit 143).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LifecycleTest {

    @Test
    void sigtermRaisedWhileSayingReady_drainsOnceAndReturns() throws Exception {
        assumeSigtermHandledHere();
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch draining = new CountDownLatch(1);
        AtomicInteger drained = new AtomicInteger();
        AtomicInteger closedAtOnce = new AtomicInteger();
        // the signal is raised and handled while the command is still saying it is ready: had the handlers come
        // after, the JVM's own handler would have ended this JVM
        Lifecycle.runUntilDrained(stop, () -> {
            raise("TERM");
            try {
                assertThat(draining.await(10, TimeUnit.SECONDS)).as("the drain started").isTrue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }, () -> {
            drained.incrementAndGet();
            draining.countDown();
        }, closedAtOnce::incrementAndGet);
        assertThat(stop.getCount()).isZero();
        assertThat(drained).hasValue(1);
        assertThat(closedAtOnce).hasValue(0);
    }

    @Test
    void readyRunsOnceBeforeWaiting_andAReleasedStopReturnsWithoutClosing() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        AtomicInteger ready = new AtomicInteger();
        AtomicInteger closed = new AtomicInteger();
        Lifecycle.runUntilStopped(stop, () -> {
            ready.incrementAndGet();
            stop.countDown();
        }, closed::incrementAndGet);
        assertThat(ready).hasValue(1);
        assertThat(closed).hasValue(0);
    }

    /** This JVM can handle SIGTERM (it did not inherit it ignored, and {@code sun.misc.Signal} is there). */
    private static void assumeSigtermHandledHere() {
        Runnable restore;
        try {
            restore = Signals.handle("TERM", () -> { });
        } catch (IllegalStateException ignoredAtStart) {
            restore = null;
        }
        assumeTrue(restore != null, "SIGTERM cannot be handled in this JVM");
        restore.run();
    }

    private static void raise(String name) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            signal.getMethod("raise", signal).invoke(null, signal.getConstructor(String.class).newInstance(name));
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot raise SIG" + name, e);
        }
    }
}

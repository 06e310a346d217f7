package io.streamproxy.cli;

import java.util.concurrent.CountDownLatch;

/**
 * How long-running commands end: they run until {@code stop} is released (by a test) or the JVM is asked to stop
 * (SIGTERM, SIGINT). On a signal the shutdown hook closes the command's resources and exits 0, so that an operator's
 * stop is not reported as a failure.
 */
final class Lifecycle {
    private Lifecycle() {
    }

    /**
     * Blocks until stopped.
     *
     * @param stop     released to stop without a signal
     * @param closeAll closes everything the command opened; idempotent
     * @throws InterruptedException if the waiting thread is interrupted
     */
    static void runUntilStopped(CountDownLatch stop, Runnable closeAll) throws InterruptedException {
        Thread hook = new Thread(() -> {
            stop.countDown();
            closeAll.run();
            Runtime.getRuntime().halt(0);
        }, "stream-proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            stop.await();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook closes and exits
            }
        }
    }
}

package io.streamproxy.cli;

import java.util.concurrent.CountDownLatch;

/**
 * How long-running commands end: they run until {@code stop} is released (by a test) or the JVM is asked to stop
 * (SIGTERM, SIGINT). On a signal the shutdown hook closes the command's resources and exits 0, so that an operator's
 * stop is not reported as a failure. A command says it is ready ({@code ready}) only once its signal handling is in
 * place: a supervisor that stops it right after it is ready gets the same clean stop as later.
 */
final class Lifecycle {
    private Lifecycle() {
    }

    /**
     * Blocks until stopped.
     *
     * @param stop     released to stop without a signal
     * @param ready    says the command is ready (its "listening" line), run once the shutdown hook is in place
     * @param closeAll closes everything the command opened; idempotent
     * @throws InterruptedException if the waiting thread is interrupted
     */
    static void runUntilStopped(CountDownLatch stop, Runnable ready, Runnable closeAll) throws InterruptedException {
        Thread hook = new Thread(() -> {
            stop.countDown();
            closeAll.run();
            Runtime.getRuntime().halt(0);
        }, "stream-proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            ready.run();
            stop.await();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook closes and exits
            }
        }
    }

    /**
     * Blocks until stopped, draining on the first SIGTERM or SIGINT: {@code drainThenClose} runs on a thread of its
     * own (it stops admitting, waits for live sessions within its bound, then closes); a second signal runs
     * {@code closeAll} at once. Either way the command then returns (exit 0). Where signals cannot be handled, the
     * JVM's shutdown runs {@code drainThenClose} instead (one signal only).
     *
     * @param stop           released to stop without a signal
     * @param ready          says the command is ready, run once the signal handlers and the shutdown hook are in place
     * @param drainThenClose drains and closes everything
     * @param closeAll       closes everything now; idempotent
     * @throws InterruptedException if the waiting thread is interrupted
     */
    static void runUntilDrained(CountDownLatch stop, Runnable ready, Runnable drainThenClose, Runnable closeAll)
            throws InterruptedException {
        java.util.concurrent.atomic.AtomicInteger signals = new java.util.concurrent.atomic.AtomicInteger();
        Runnable onSignal = () -> {
            if (signals.incrementAndGet() == 1) {
                Thread drain = new Thread(() -> {
                    try {
                        drainThenClose.run();
                    } finally {
                        stop.countDown();
                    }
                }, "stream-proxy-drain");
                drain.setDaemon(true);
                drain.start();
            } else {
                closeAll.run();
                stop.countDown();
            }
        };
        Runnable restoreTerm = handleUnlessIgnored("TERM", onSignal);
        Runnable restoreInt = restoreTerm == null ? null : handleUnlessIgnored("INT", onSignal);
        if (restoreInt == null) {
            if (restoreTerm != null) {
                restoreTerm.run();
            }
            runUntilStopped(stop, ready, drainThenClose);
            return;
        }
        Thread hook = new Thread(() -> {
            stop.countDown();
            closeAll.run();
            Runtime.getRuntime().halt(0);
        }, "stream-proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(hook); // any other way the JVM ends: close, exit 0
        try {
            ready.run();
            stop.await();
        } finally {
            restoreTerm.run();
            restoreInt.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook closes and exits
            }
        }
    }

    /**
     * Handles a signal, unless this process started with it ignored (SIGINT in a shell's background job, SIGHUP under
     * nohup): then it stays ignored, as whoever started the server chose, and nothing needs restoring.
     */
    private static Runnable handleUnlessIgnored(String name, Runnable action) {
        try {
            return Signals.handle(name, action);
        } catch (IllegalStateException ignored) {
            return () -> { };
        }
    }
}

package io.streamproxy.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The live threads and open file descriptors of this JVM at one moment, to prove that closing a server leaves
 * nothing behind: take one before, one after, and compare with {@link #threadsStartedSince} and
 * {@link #openFileDescriptors()}.
 */
public final class ResourceSnapshot {
    private final Set<Thread> threads;
    private final long fileDescriptors;

    private ResourceSnapshot(Set<Thread> threads, long fileDescriptors) {
        this.threads = threads;
        this.fileDescriptors = fileDescriptors;
    }

    /**
     * Takes a snapshot.
     *
     * @return the snapshot
     */
    public static ResourceSnapshot take() {
        return new ResourceSnapshot(liveThreads(), openFileDescriptors());
    }

    /** @return the number of open file descriptors (Linux {@code /proc/self/fd}), or -1 where unknown */
    public static long openFileDescriptors() {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) {
            return -1;
        }
        try (Stream<Path> list = Files.list(fds)) {
            return list.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits, within the bound, for the open file descriptors to fall to at most {@code max}. A socket closed by a
     * thread of the server (a session thread that is ending, an event loop) closes some time after what caused it,
     * and the kernel has no event to wait for, so this counts again after short waits until the count is low enough
     * or the bound has passed.
     *
     * @param max   the count to reach
     * @param bound how long to wait in all
     * @return the last count (at most {@code max} unless the bound passed), or -1 where unknown
     */
    public static long awaitFileDescriptorsAtMost(long max, Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        long count = openFileDescriptors();
        while (count > max && System.nanoTime() - deadline < 0 && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            count = openFileDescriptors();
        }
        return count;
    }

    /** @return file descriptors open at the snapshot */
    public long fileDescriptors() {
        return fileDescriptors;
    }

    /**
     * Waits (joining each, within the bound) for threads started since this snapshot to end, and returns those
     * still alive.
     *
     * @param bound how long to wait in all
     * @return the threads started since the snapshot that are still alive
     */
    public List<Thread> threadsStartedSince(Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        List<Thread> alive = new ArrayList<>();
        for (Thread t : liveThreads()) {
            if (threads.contains(t)) {
                continue;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left > 0) {
                try {
                    t.join(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (t.isAlive()) {
                alive.add(t);
            }
        }
        return alive;
    }

    private static Set<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).collect(Collectors.toSet());
    }

    /**
     * Describes threads for an assertion message.
     *
     * @param threads the threads
     * @return their names
     */
    public static String names(List<Thread> threads) {
        return threads.stream().map(Thread::getName).collect(Collectors.joining(", ", "[", "]"));
    }
}

package io.streamproxy.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An outside peer run as a process and driven in steps: write to its standard input, read an exact number of bytes
 * from its standard output within a bound. A reader thread moves output into a queue, so that no read blocks past
 * its bound; {@link #close()} ends the process and the thread.
 */
public final class PeerProcess implements Closeable {
    private final Process process;
    private final Path stderr;
    private final BlockingQueue<Integer> output = new ArrayBlockingQueue<>(1 << 20);
    private final Thread reader;
    private final OutputStream stdin;

    private PeerProcess(List<String> command) {
        try {
            stderr = Files.createTempFile("stream-proxy-peer-", ".err");
            stderr.toFile().deleteOnExit();
            process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        stdin = process.getOutputStream();
        reader = new Thread(this::pump, "testkit-peer-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts a process.
     *
     * @param command the program and its arguments
     * @return the running peer
     */
    public static PeerProcess start(List<String> command) {
        return new PeerProcess(command);
    }

    private void pump() {
        byte[] buf = new byte[8192];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                for (int i = 0; i < n; i++) {
                    output.put(buf[i] & 0xff);
                }
            }
        } catch (IOException | InterruptedException e) {
            // process ended or we are closing
        }
    }

    /**
     * Writes bytes to the peer's standard input and flushes.
     *
     * @param bytes the bytes
     * @throws IOException if the peer has exited
     */
    public void write(byte[] bytes) throws IOException {
        stdin.write(bytes);
        stdin.flush();
    }

    /**
     * Reads exactly {@code n} bytes of the peer's output.
     *
     * @param n       how many
     * @param timeout the bound on the whole read
     * @return the bytes
     * @throws AssertionError if they do not arrive in time (with the peer's stderr)
     */
    public byte[] read(int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] out = new byte[n];
        try {
            for (int i = 0; i < n; i++) {
                Integer b = output.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (b == null) {
                    throw new AssertionError("peer printed " + i + " of " + n + " bytes within " + timeout
                            + "; stderr: " + stderr());
                }
                out[i] = (byte) (int) b;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        return out;
    }

    /** @return what the peer wrote to standard error so far */
    public String stderr() {
        try {
            return Files.readString(stderr, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

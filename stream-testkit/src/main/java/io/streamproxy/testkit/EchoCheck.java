package io.streamproxy.testkit;

import io.streamproxy.TcpTunnel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends seeded random bytes through a tunnel to an echo destination while reading the echo back, ends the upload
 * with a half-close, and compares SHA-256 of both directions: the bulk check of the kits and the interop matrix.
 */
public final class EchoCheck {
    private EchoCheck() {
    }

    /**
     * Runs the check.
     *
     * @param tunnel  a tunnel to an echo destination
     * @param size    bytes to send (a multiple of 64 KiB)
     * @param seed    the random seed
     * @param timeout bound on waiting for the writer after the echo ended
     * @throws AssertionError if the echo is shorter, longer or different
     * @throws Exception      on I/O failure
     */
    public static void roundTrip(TcpTunnel tunnel, long size, long seed, Duration timeout) throws Exception {
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Future<byte[]> sent = writer.submit(() -> {
                MessageDigest sha = sha256();
                Random random = new Random(seed);
                byte[] chunk = new byte[64 * 1024];
                OutputStream out = tunnel.output();
                for (long done = 0; done < size; done += chunk.length) {
                    random.nextBytes(chunk);
                    sha.update(chunk);
                    out.write(chunk);
                }
                tunnel.shutdownOutput();
                return sha.digest();
            });
            MessageDigest received = sha256();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            InputStream in = tunnel.input();
            int n;
            while ((n = in.read(buf)) >= 0) {
                received.update(buf, 0, n);
                total += n;
            }
            byte[] expected = sent.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (total != size) {
                throw new AssertionError("echoed " + total + " of " + size + " bytes");
            }
            if (!Arrays.equals(received.digest(), expected)) {
                throw new AssertionError("echo of " + size + " bytes differs (SHA-256)");
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException ? (IOException) e.getCause() : e;
        } catch (TimeoutException e) {
            throw new AssertionError("the writer did not finish within " + timeout, e);
        } finally {
            writer.shutdownNow();
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.streamproxy.cli;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log ({@code --access-log FILE}, or {@code -} for standard output): one JSON object per line for every
 * ended tunnel and UDP session ({@code "event":"session"}: start, end, duration, protocol, transport, client
 * address and certificate subject, requested destination, dialled address, bytes and datagrams each way, which side
 * ended first, the end reason) and every refused one ({@code "event":"refused"} with the reason and detail). The
 * relay never waits for it: a line is formatted on the transport thread, put in a bounded queue
 * ({@link #CAPACITY} lines) and written by one writer thread, which flushes whenever the queue runs empty; a line
 * that finds the queue full is dropped and counted ({@code stream_proxy_access_log_dropped_total}). A file that is
 * moved or removed (rotated) is noticed before the next batch, and a new one is written at the path; a failed write
 * drops and counts its line, and the file is opened again at the next check.
 */
final class AccessLog implements SessionListener, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
    /** Lines that may wait for the writer. */
    static final int CAPACITY = 16384;

    private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(CAPACITY);
    /** Used by the writer thread only. */
    private Writer out;
    /** What {@link #out} writes to, when the log is a file: closed without a flush when a write failed. */
    private OutputStream rawOut;
    private long unflushedLines;
    /** Lines queued; lines the writer took; lines it had handled at its last flush (guarded by progress). */
    private final AtomicLong queued = new AtomicLong();
    private long taken;
    private final Object progress = new Object();
    private long handled;
    private final boolean closeOut;
    /** The file, when the log is one: a rotation (the file moved or removed) is noticed and a new one opened. */
    private final Path path;
    private Object fileKey;
    private long lastCheck;
    private long failedLines;
    private final Map<Protocol, String> transports;
    private final Metrics metrics;
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private volatile boolean closed;

    AccessLog(Writer out, boolean closeOut, Map<Protocol, String> transports, Metrics metrics) {
        this(out, null, closeOut, null, transports, metrics);
    }

    private AccessLog(Writer out, OutputStream raw, boolean closeOut, Path path, Map<Protocol, String> transports,
                      Metrics metrics) {
        this.out = out;
        this.rawOut = raw;
        this.closeOut = closeOut;
        this.path = path;
        this.fileKey = path == null ? null : fileKey(path);
        this.transports = transports;
        this.metrics = metrics;
        this.writer = new Thread(this::write, "stream-proxy-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * Opens the log.
     *
     * @param target     a file (appended to, created if missing) or {@code -} for standard output
     * @param transports the transport serving each protocol, for the lines
     * @param metrics    where dropped lines are counted
     * @return the running log
     * @throws IOException if the file cannot be opened
     */
    static AccessLog open(String target, Map<Protocol, String> transports, Metrics metrics) throws IOException {
        if (target.equals("-")) {
            return new AccessLog(new OutputStreamWriter(nonClosing(System.out), StandardCharsets.UTF_8), true,
                    transports, metrics);
        }
        Path path = Path.of(target);
        OutputStream raw = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
        return new AccessLog(new BufferedWriter(new OutputStreamWriter(raw, StandardCharsets.UTF_8)), raw, true, path,
                transports, metrics);
    }

    /**
     * @return what identifies the file now at {@code path} (device and inode), {@link #MISSING} when there is none,
     *         null when the file system cannot tell
     */
    private static Object fileKey(Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return MISSING;
        }
    }

    @Override
    public void sessionEnded(SessionInfo s, SessionEnd end) {
        Instant ended = Instant.now();
        Instant started = s.openedAt() != null ? s.openedAt() : ended.minus(end.duration());
        StringBuilder b = new StringBuilder(512).append('{');
        field(b, "time", ended.toString());
        field(b, "event", "session");
        field(b, "id", s.id());
        field(b, "start", started.toString());
        field(b, "duration_ms", end.duration().toMillis());
        field(b, "protocol", tag(s.protocol()));
        field(b, "transport", transports.get(s.protocol()));
        field(b, "client", address(s.client()));
        field(b, "client_identity", s.clientIdentity());
        field(b, "destination", s.destination() == null ? null : s.destination().toString());
        field(b, "dialled", address(s.dialled()));
        field(b, "bytes_to_destination", end.bytesToDestination());
        field(b, "bytes_from_destination", end.bytesFromDestination());
        if (s.protocol() == Protocol.UDP) {
            field(b, "datagrams_to_destination", end.datagramsToDestination());
            field(b, "datagrams_from_destination", end.datagramsFromDestination());
        }
        field(b, "ended_first", end.endedFirst() == null ? null : end.endedFirst().name().toLowerCase(Locale.ROOT));
        field(b, "end_reason", end.reason());
        enqueue(b);
    }

    @Override
    public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        StringBuilder b = new StringBuilder(256).append('{');
        field(b, "time", Instant.now().toString());
        field(b, "event", "refused");
        field(b, "protocol", tag(protocol));
        field(b, "transport", transports.get(protocol));
        field(b, "client", address(client));
        field(b, "reason", reason.name().toLowerCase(Locale.ROOT));
        field(b, "detail", detail);
        enqueue(b);
    }

    /**
     * Waits until the writer has handled (written and flushed, or dropped on a failed write) every line queued
     * before the call: for tests.
     *
     * @param timeout the bound on the wait
     * @return true if it did within the timeout
     * @throws InterruptedException if interrupted while waiting
     */
    boolean awaitHandled(java.time.Duration timeout) throws InterruptedException {
        long target = queued.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (handled < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
        return true;
    }

    /** @return lines dropped because the queue was full */
    long dropped() {
        return dropped.get();
    }

    private void enqueue(StringBuilder b) {
        b.setLength(b.length() - 1); // the last comma
        String line = b.append("}\n").toString();
        if (!closed && lines.offer(line)) {
            queued.incrementAndGet();
        } else {
            dropped.incrementAndGet();
            metrics.accessLogDropped();
        }
    }

    private void write() {
        boolean idle = true;
        try {
            while (!closed || !lines.isEmpty()) {
                String line = lines.poll(200, TimeUnit.MILLISECONDS);
                if (line == null) {
                    continue;
                }
                long now = System.nanoTime();
                if (idle || now - lastCheck > CHECK_NANOS) { // a stat per batch, and at least every second
                    lastCheck = now;
                    reopenIfRotated();
                }
                writeLine(line);
                taken++;
                idle = lines.isEmpty();
                if (idle) {
                    flush();
                    synchronized (progress) {
                        handled = taken;
                        progress.notifyAll();
                    }
                }
            }
        } catch (InterruptedException e) {
            // closing: what is still queued is dropped, the rest flushed below
        } finally {
            flush();
            if (closeOut) {
                try {
                    out.close();
                } catch (IOException e) {
                    // closing
                }
            }
        }
    }

    private static final long CHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** {@link #fileKey} of a path with no file. */
    private static final Object MISSING = new Object();

    /**
     * Log rotation (logrotate's default moves the file and the next one is created), a removed file, or a failed
     * write before: the lines go to a new file at the path from now on, not to the moved or deleted one.
     */
    private void reopenIfRotated() {
        if (path == null) {
            return;
        }
        Object now = fileKey(path);
        if (failedLines == 0 && (now == null || now.equals(fileKey))) {
            return; // the same file (or a file system that cannot tell: then only a failure reopens)
        }
        try {
            OutputStream next = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
            if (failedLines > 0) {
                rawOut.close(); // what failed to go out is dropped (and counted), not tried again
                endLineCutShort(path, next);
            } else {
                out.close(); // a batch ends flushed: nothing is lost
            }
            rawOut = next;
            out = new BufferedWriter(new OutputStreamWriter(next, StandardCharsets.UTF_8));
            Object was = fileKey;
            fileKey = fileKey(path);
            if (!java.util.Objects.equals(was, fileKey)) {
                LOG.info("access log {}: the file was moved or removed (rotated): writing to a new one", path);
            }
        } catch (IOException e) {
            // the next check tries again; failed writes are dropped and counted meanwhile
        }
    }

    /** A line that a full disk cut short is ended, so that the next one starts on a line of its own. */
    private static void endLineCutShort(Path path, OutputStream out) throws IOException {
        try (java.nio.channels.SeekableByteChannel c = Files.newByteChannel(path, StandardOpenOption.READ)) {
            if (c.size() == 0) {
                return;
            }
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            c.position(c.size() - 1).read(last);
            if (last.get(0) != '\n') {
                out.write('\n');
            }
        }
    }

    private void writeLine(String line) {
        try {
            out.write(line);
            unflushedLines++;
        } catch (IOException e) {
            dropFailed(e, unflushedLines + 1);
        }
    }

    private void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            dropFailed(e, unflushedLines);
            return;
        }
        unflushedLines = 0;
        if (failedLines > 0) {
            LOG.info("access log{}: writing again, after {} lines were dropped", path == null ? "" : " " + path,
                    failedLines);
            failedLines = 0;
        }
    }

    /** A failed write (a full disk, say): its lines are dropped and counted; the file is opened again at the next check. */
    private void dropFailed(IOException e, long lost) {
        if (failedLines == 0) {
            LOG.warn("access log{}: writing failed: {}; lines are dropped (counted) until a write works again",
                    path == null ? "" : " " + path, e.toString());
        }
        failedLines += Math.max(1, lost);
        unflushedLines = 0;
        for (long i = 0; i < Math.max(1, lost); i++) {
            dropped.incrementAndGet();
            metrics.accessLogDropped();
        }
    }

    /** Stops taking lines, lets the writer write what is queued (bounded: 5 s), flush and close the file. */
    @Override
    public void close() {
        closed = true;
        try {
            writer.join(TimeUnit.SECONDS.toMillis(5));
            if (writer.isAlive()) {
                writer.interrupt(); // a write blocked on a stuck disk or pipe: what is queued is given up
                writer.join(TimeUnit.SECONDS.toMillis(1));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String tag(Protocol p) {
        return p.name().toLowerCase(Locale.ROOT);
    }

    private static String address(SocketAddress a) {
        if (a instanceof InetSocketAddress) {
            InetSocketAddress i = (InetSocketAddress) a;
            return i.getAddress() == null ? i.getHostString() + ":" + i.getPort() : Values.text(i);
        }
        return a == null ? null : a.toString();
    }

    private static void field(StringBuilder b, String name, long value) {
        b.append('"').append(name).append("\":").append(value).append(',');
    }

    private static void field(StringBuilder b, String name, String value) {
        b.append('"').append(name).append("\":");
        if (value == null) {
            b.append("null");
        } else {
            quote(b, value);
        }
        b.append(',');
    }

    /** Writes a JSON string: quotes, backslashes and every control character escaped, so a peer cannot break lines. */
    static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    b.append("\\\"");
                    break;
                case '\\':
                    b.append("\\\\");
                    break;
                case '\n':
                    b.append("\\n");
                    break;
                case '\r':
                    b.append("\\r");
                    break;
                case '\t':
                    b.append("\\t");
                    break;
                default:
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || Character.isSurrogate(c)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        b.append('"');
    }

    private static OutputStream nonClosing(OutputStream o) {
        return new java.io.FilterOutputStream(o) {
            @Override
            public void write(byte[] bytes, int off, int len) throws IOException {
                out.write(bytes, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }
}

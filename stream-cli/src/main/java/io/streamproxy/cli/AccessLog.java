package io.streamproxy.cli;

import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionEnd;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
    private long unflushedLines;
    /** Lines queued; lines the writer took; lines it had handled at its last flush (guarded by progress). */
    private final AtomicLong queued = new AtomicLong();
    private long taken;
    private final Object progress = new Object();
    private long handled;
    private final boolean closeOut;
    /** The file, when the log is one: a rotation (the file moved or removed) is noticed and a new one opened. */
    private final AppendedFile file;
    private long lastCheck;
    private long failedLines;
    private final Map<Protocol, String> transports;
    private final Metrics metrics;
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private volatile boolean closed;

    AccessLog(Writer out, boolean closeOut, Map<Protocol, String> transports, Metrics metrics) {
        this(out, closeOut, null, transports, metrics);
    }

    private AccessLog(Writer out, boolean closeOut, AppendedFile file, Map<Protocol, String> transports,
                      Metrics metrics) {
        this.out = out;
        this.closeOut = closeOut;
        this.file = file;
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
        AppendedFile file = AppendedFile.open(Path.of(target));
        return new AccessLog(file.writer(), true, file, transports, metrics);
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

    /** Log rotation, a removed file or a failed write: the lines go to the file now at the path from now on. */
    private void reopenIfRotated() {
        if (file != null && file.reopen(failedLines > 0)) {
            out = file.writer();
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
            LOG.info("access log{}: writing again, after {} lines were dropped", where(), failedLines);
            failedLines = 0;
        }
    }

    /** A failed write (a full disk, say): its lines are dropped and counted; the file is opened again at the next check. */
    private void dropFailed(IOException e, long lost) {
        if (failedLines == 0) {
            LOG.warn("access log{}: writing failed: {}; lines are dropped (counted) until a write works again",
                    where(), e.toString());
        }
        failedLines += Math.max(1, lost);
        unflushedLines = 0;
        dropped.addAndGet(Math.max(1, lost));
        metrics.accessLogDropped(Math.max(1, lost));
    }

    private String where() {
        return file == null ? "" : " " + file.path();
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

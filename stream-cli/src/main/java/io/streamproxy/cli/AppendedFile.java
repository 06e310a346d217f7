package io.streamproxy.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file appended to by one thread that follows log rotation: when the file at the path was moved or removed
 * (logrotate's default moves it and expects the program to create the next one), or a write to it failed, {@link
 * #reopen} opens the file now at the path, so that lines do not go to a moved or deleted file forever. Not
 * thread-safe: its writer thread's alone.
 */
final class AppendedFile {
    /** The access log's logger: its lines are about the access log, and the command line shows its INFO. */
    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
    /** {@link #fileKey} of a path with no file. */
    private static final Object MISSING = new Object();

    private final Path path;
    private OutputStream raw;
    private Writer writer;
    private Object fileKey;

    private AppendedFile(Path path) throws IOException {
        this.path = path;
        open();
    }

    /**
     * Opens a file for appending, creating it if missing.
     *
     * @param path the file
     * @return the open file
     * @throws IOException if it cannot be opened
     */
    static AppendedFile open(Path path) throws IOException {
        return new AppendedFile(path);
    }

    private void open() throws IOException {
        raw = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
        writer = new BufferedWriter(new OutputStreamWriter(raw, StandardCharsets.UTF_8));
        fileKey = fileKey(path);
    }

    /** @return the writer of the file open now (another one after {@link #reopen}) */
    Writer writer() {
        return writer;
    }

    /** @return the path */
    Path path() {
        return path;
    }

    /**
     * Opens the file now at the path when the open one was moved or removed, or when {@code failed}: a write to
     * it failed, and what it holds unwritten is given up (not flushed again), and a line it cut short is ended. On
     * a file system that cannot tell files apart, only a failure reopens.
     *
     * @param failed whether a write failed since the last reopen
     * @return true if the writer changed
     */
    boolean reopen(boolean failed) {
        Object now = fileKey(path);
        if (!failed && (now == null || now.equals(fileKey))) {
            return false;
        }
        OutputStream oldRaw = raw;
        Writer oldWriter = writer;
        Object was = fileKey;
        try {
            open();
        } catch (IOException e) {
            return false; // the next check tries again
        }
        try {
            if (failed) {
                oldRaw.close(); // no flush: what failed stays dropped (and counted)
                endLineCutShort();
            } else {
                oldWriter.close(); // a batch ends flushed: nothing is lost
            }
        } catch (IOException e) {
            // the old file: nothing more to do with it
        }
        if (!Objects.equals(was, fileKey)) {
            LOG.info("access log {}: the file was moved or removed (rotated): writing to a new one", path);
        }
        return true;
    }

    /** A line that a full disk cut short is ended, so that the next one starts on a line of its own. */
    private void endLineCutShort() throws IOException {
        try (SeekableByteChannel c = Files.newByteChannel(path, StandardOpenOption.READ)) {
            if (c.size() == 0) {
                return;
            }
            ByteBuffer last = ByteBuffer.allocate(1);
            c.position(c.size() - 1).read(last);
            if (last.get(0) != '\n') {
                writer.write('\n');
            }
        }
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
}

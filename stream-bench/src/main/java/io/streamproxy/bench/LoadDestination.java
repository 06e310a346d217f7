package io.streamproxy.bench;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * The TCP destination of {@link LoadSoak}: one selector thread for every connection, so that a thousand tunnels
 * cost the destination no thread each and the thread count of the process stays the server's and the client's.
 * Two ports:
 * <ul>
 *   <li>{@link #echoAddress()}: every byte read is sent back; end of stream closes the connection.</li>
 *   <li>{@link #checkedAddress()}: the client sends a 4-byte length {@code L}, then {@code L} bytes; the destination
 *   sends those {@code L} bytes back as they arrive and then 8 bytes, the CRC32 of the {@code L} bytes it received.
 *   The client compares that CRC with the CRC of what it sent (the direction to the destination) and with the CRC of
 *   what it got back (the direction from it). No half-close is needed, so this holds on every TLS engine.</li>
 * </ul>
 * Sending more than {@code L} bytes counts as a protocol error and closes the connection.
 */
final class LoadDestination implements Closeable {
    private static final int BUFFER = 64 * 1024;

    private final Selector selector;
    private final ServerSocketChannel echo;
    private final ServerSocketChannel checked;
    private final Thread thread;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong protocolErrors = new AtomicLong();
    private volatile boolean closed;

    LoadDestination() throws IOException {
        selector = Selector.open();
        echo = listen();
        checked = listen();
        echo.register(selector, SelectionKey.OP_ACCEPT, Boolean.FALSE);
        checked.register(selector, SelectionKey.OP_ACCEPT, Boolean.TRUE);
        thread = new Thread(this::loop, "load-destination");
        thread.setDaemon(true);
        thread.start();
    }

    private static ServerSocketChannel listen() throws IOException {
        ServerSocketChannel c = ServerSocketChannel.open();
        c.configureBlocking(false);
        c.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
        return c;
    }

    /** @return the plain echo port */
    InetSocketAddress echoAddress() throws IOException {
        return (InetSocketAddress) echo.getLocalAddress();
    }

    /** @return the length-prefixed echo port that answers with a CRC32 of what it received */
    InetSocketAddress checkedAddress() throws IOException {
        return (InetSocketAddress) checked.getLocalAddress();
    }

    /** @return connections accepted so far */
    long accepted() {
        return accepted.get();
    }

    /** @return connections that sent more than they announced */
    long protocolErrors() {
        return protocolErrors.get();
    }

    /** One accepted connection: reads only while nothing is waiting to be written (back-pressure). */
    private final class Conn {
        final SocketChannel channel;
        final boolean checked;
        final ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        final ByteBuffer length = ByteBuffer.allocate(4);
        final CRC32 crc = new CRC32();
        long left = -1; // checked port: bytes still to come; -1 until the length is read
        boolean trailerQueued;
        ByteBuffer pending = ByteBuffer.allocate(0);

        Conn(SocketChannel channel, boolean checked) {
            this.channel = channel;
            this.checked = checked;
        }

        void readable(SelectionKey key) throws IOException {
            if (checked && left < 0) {
                if (channel.read(length) < 0) {
                    close(key);
                    return;
                }
                if (!length.hasRemaining()) {
                    left = length.flip().getInt() & 0xffffffffL;
                    flush(key);
                }
                return;
            }
            buffer.clear();
            if (checked) {
                buffer.limit((int) Math.min(buffer.capacity(), left + 1)); // one byte more shows an overrun
            }
            int n = channel.read(buffer);
            if (n < 0) {
                close(key);
                return;
            }
            buffer.flip();
            if (checked) {
                if (n > left) {
                    protocolErrors.incrementAndGet();
                    close(key);
                    return;
                }
                crc.update(buffer.duplicate());
                left -= n;
            }
            pending = buffer;
            flush(key);
        }

        void flush(SelectionKey key) throws IOException {
            channel.write(pending);
            if (!pending.hasRemaining() && checked && left == 0 && !trailerQueued) {
                trailerQueued = true;
                pending = ByteBuffer.allocate(8).putLong(crc.getValue()).flip();
                channel.write(pending);
            }
            // after the trailer the client closes, and its end of stream closes this connection
            key.interestOps(pending.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        }

        void close(SelectionKey key) {
            key.cancel();
            try {
                channel.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    private void loop() {
        try {
            while (!closed) {
                selector.select(TimeUnit.SECONDS.toMillis(1));
                for (SelectionKey key : selector.selectedKeys()) {
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        accept(key);
                        continue;
                    }
                    Conn c = (Conn) key.attachment();
                    try {
                        if (key.isWritable()) {
                            c.flush(key);
                        } else if (key.isReadable()) {
                            c.readable(key);
                        }
                    } catch (IOException e) {
                        c.close(key); // the peer went away
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException | ClosedSelectorException e) {
            // closing
        } finally {
            for (SelectionKey key : selector.keys()) {
                try {
                    key.channel().close();
                } catch (IOException e) {
                    // closing
                }
            }
        }
    }

    private void accept(SelectionKey key) {
        ServerSocketChannel server = (ServerSocketChannel) key.channel();
        boolean isChecked = (Boolean) key.attachment();
        SocketChannel s;
        try {
            while ((s = server.accept()) != null) {
                accepted.incrementAndGet();
                s.configureBlocking(false);
                s.setOption(StandardSocketOptions.TCP_NODELAY, true);
                s.register(selector, SelectionKey.OP_READ, new Conn(s, isChecked));
            }
        } catch (IOException e) {
            // a connection that went away before it was registered
        }
    }

    /** Closes both ports and every connection, and joins the thread (bounded). */
    @Override
    public void close() throws IOException {
        closed = true;
        selector.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        selector.close();
        echo.close();
        checked.close();
    }
}

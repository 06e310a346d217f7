package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.internal.UdpClientTemplate;
import io.streamproxy.protocol.dtls.DtlsDriver;
import io.streamproxy.protocol.dtls.DtlsScratch;
import io.streamproxy.spi.DurationText;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLEngine;

/**
 * The client end of a UDP tunnel on a connected Netty datagram channel. The DTLS driver runs on the channel's event
 * loop (retransmission on a 100 ms tick); the blocking {@link DatagramTunnel} calls hand work to the loop and wait
 * for the answer, and received records wait in a bounded queue ({@link #MAX_QUEUED}; beyond it they are dropped,
 * as a full socket buffer drops them).
 */
final class NettyDatagramTunnel extends SimpleChannelInboundHandler<Object> implements UdpClientTemplate.Handshaken,
        DtlsDriver.Output {
    private static final Object CLOSED = new Object();
    /** What a receive finds once this side closed the tunnel: it fails at once, a waiting one included. */
    private static final Object CLOSED_HERE = new Object();

    private final Channel channel;
    private final DtlsDriver driver;
    private final DtlsScratch scratch = new DtlsScratch();
    private final CompletableFuture<Void> handshake = new CompletableFuture<>();
    /** Received datagrams the application has not taken yet, at most; more are dropped, as a full socket would. */
    static final int MAX_QUEUED = 4096;

    private final LinkedBlockingQueue<Object> records = new LinkedBlockingQueue<>();
    /** Set on the loop by a forward that takes the datagrams there; until then they wait in {@link #records}. */
    private Sink sink;

    /** Who takes a tunnel's datagrams on its event loop instead of {@link #receive}. */
    interface Sink {
        /**
         * A decrypted datagram, on the loop.
         *
         * @param plaintext the datagram; only valid during the call
         */
        void datagram(ByteBuffer plaintext);

        /**
         * The tunnel ended, on the loop.
         *
         * @param cause why, or null for a close by the server
         */
        void ended(IOException cause);
    }
    private final Runnable onClose;
    private ScheduledFuture<?> ticker;
    private volatile Destination destination;
    private volatile boolean closed;

    NettyDatagramTunnel(Channel channel, SSLEngine engine, int mtu, Runnable onClose) {
        this.channel = channel;
        this.driver = new DtlsDriver(engine, mtu, this);
        this.onClose = onClose;
    }

    /** Starts the handshake on the loop and waits for it within the timeout. */
    void handshake(Duration timeout) throws IOException {
        channel.eventLoop().execute(() -> {
            try {
                driver.begin(scratch, System.nanoTime());
                ticker = channel.eventLoop().scheduleAtFixedRate(this::tick, 100, 100, TimeUnit.MILLISECONDS);
            } catch (IOException e) {
                handshake.completeExceptionally(e);
            }
        });
        try {
            handshake.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // where it stood (read on the loop), so that a stalled handshake can be told from a lost server
            String state;
            try {
                state = channel.eventLoop().submit(driver::handshakeState).get(1, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException | InterruptedException | RuntimeException e2) {
                state = "state unknown: " + e2;
            }
            throw new SocketTimeoutException("DTLS handshake with " + channel.remoteAddress() + " took longer than "
                    + DurationText.of(timeout) + " (" + state + ")");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException ? (IOException) c : new IOException(String.valueOf(c.getMessage()), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    private void tick() {
        try {
            driver.onTimer(scratch, System.nanoTime());
        } catch (IOException e) {
            handshake.completeExceptionally(e);
        }
    }

    @Override
    public void sendHeader(Destination d, byte[] header) throws IOException {
        this.destination = d;
        onLoop(() -> driver.send(ByteBuffer.wrap(header), scratch));
    }

    // ------------------------------------------------------------ on the loop

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
        ByteBuf content = msg instanceof DatagramPacket ? ((DatagramPacket) msg).content() : (ByteBuf) msg;
        try {
            driver.receive(content.nioBuffer(), scratch, System.nanoTime());
        } catch (IOException e) {
            fail(e);
            return;
        }
        if (driver.isHandshakeDone() && !handshake.isDone()) {
            handshake.complete(null);
        }
        if (driver.isClosed()) {
            if (!handshake.isDone()) {
                handshake.completeExceptionally(new javax.net.ssl.SSLHandshakeException(
                        "the server ended the DTLS handshake"));
            }
            ended(null);
        }
    }

    private void ended(IOException cause) {
        if (sink != null) {
            sink.ended(cause);
        } else {
            records.add(cause != null ? cause : CLOSED);
        }
    }

    /**
     * On the loop: from now on decrypted datagrams go to {@code to} on the loop, those that came already first, and
     * {@link #receive} is not to be called.
     */
    void deliverTo(Sink to) {
        Object o;
        while ((o = records.poll()) != null) {
            if (o instanceof ByteBuf) {
                ByteBuf b = (ByteBuf) o;
                try {
                    to.datagram(b.nioBuffer());
                } finally {
                    b.release();
                }
            } else {
                to.ended(o instanceof IOException ? (IOException) o : null);
                return;
            }
        }
        sink = to;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof PortUnreachableException) {
            ConnectException c = new ConnectException("server UDP port unreachable: " + channel.remoteAddress());
            c.initCause(cause);
            fail(c);
        } else {
            fail(cause instanceof IOException ? (IOException) cause : new IOException(cause));
        }
    }

    private void fail(IOException e) {
        handshake.completeExceptionally(e);
        ended(e);
    }

    @Override
    public void transmit(ByteBuffer datagram) {
        ByteBuf b = channel.alloc().directBuffer(datagram.remaining()).writeBytes(datagram);
        channel.writeAndFlush(b, channel.voidPromise());
    }

    @Override
    public void record(ByteBuffer plaintext) {
        if (sink != null) {
            sink.datagram(plaintext);
            return;
        }
        if (records.size() >= MAX_QUEUED) {
            return; // the application is not receiving: drop, as UDP does when a socket's buffer is full
        }
        records.add(channel.alloc().heapBuffer(plaintext.remaining()).writeBytes(plaintext));
    }

    /** @return datagrams (and end markers) waiting for the application, for tests */
    int queued() {
        return records.size();
    }

    @Override
    public void handshakeFinished() {
        if (ticker != null) {
            ticker.cancel(false);
        }
        handshake.complete(null);
    }

    // ------------------------------------------------------------ the blocking API

    private interface LoopTask {
        void run() throws IOException;
    }

    private void onLoop(LoopTask task) throws IOException {
        if (channel.eventLoop().inEventLoop()) {
            task.run();
            return;
        }
        Future<Void> f = channel.eventLoop().submit(() -> {
            task.run();
            return null;
        });
        try {
            if (!f.await(10, TimeUnit.SECONDS)) {
                throw new SocketTimeoutException("event loop did not answer within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
        if (!f.isSuccess()) {
            Throwable c = f.cause();
            throw c instanceof IOException ? (IOException) c : new IOException(String.valueOf(c.getMessage()), c);
        }
    }

    /** Datagrams handed to the loop and not yet encrypted, at most; past that a sender waits for the loop. */
    static final int MAX_SENDING = 1024;
    private final java.util.concurrent.atomic.AtomicInteger sending = new java.util.concurrent.atomic.AtomicInteger();
    private volatile IOException sendFailure;

    /**
     * Hands the datagram to the event loop without waiting for it (a copy in a pooled buffer), as a UDP socket's
     * send returns once the datagram is queued: a caller no longer pays a thread round trip per datagram. A
     * failure there ends the tunnel and is thrown by the next send or receive. At most {@link #MAX_SENDING} wait;
     * past that (and on the loop itself) the send runs synchronously, so a fast sender is held back, not buffered.
     */
    @Override
    public void send(ByteBuffer datagram) throws IOException {
        if (closed) {
            throw new IOException("tunnel is closed");
        }
        IOException failed = sendFailure;
        if (failed != null) {
            throw new IOException("tunnel failed: " + failed.getMessage(), failed);
        }
        boolean now = channel.eventLoop().inEventLoop() || datagram.remaining() > DatagramTunnel.MAX_DATAGRAM;
        if (!now && sending.incrementAndGet() > MAX_SENDING) {
            sending.decrementAndGet();
            now = true;
        }
        if (now) {
            onLoop(() -> driver.send(datagram, scratch)); // the driver's own checks and errors, synchronously
            return;
        }
        ByteBuf copy = channel.alloc().directBuffer(datagram.remaining()).writeBytes(datagram);
        try {
            channel.eventLoop().execute(() -> {
                try {
                    driver.send(copy.nioBuffer(), scratch);
                } catch (IOException e) {
                    sendFailure = e;
                    fail(e);
                } finally {
                    copy.release();
                    sending.decrementAndGet();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            copy.release();
            sending.decrementAndGet();
            throw new IOException("tunnel is closed", e);
        }
    }

    @Override
    public int receive(ByteBuffer into, Duration timeout) throws IOException {
        if (closed) {
            throw new IOException("tunnel is closed");
        }
        Object o;
        try {
            o = records.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
        if (o == null) {
            throw new SocketTimeoutException("no datagram within " + DurationText.of(timeout));
        }
        if (o == CLOSED) {
            records.add(CLOSED);
            return -1;
        }
        if (o == CLOSED_HERE) {
            records.add(CLOSED_HERE);
            throw new IOException("tunnel is closed");
        }
        if (o instanceof IOException) {
            records.add(o);
            throw (IOException) o;
        }
        ByteBuf b = (ByteBuf) o;
        try {
            int n = b.readableBytes();
            if (n > into.remaining()) {
                throw new IOException("a " + n + "-byte datagram does not fit the " + into.remaining()
                        + " bytes left in the receive buffer");
            }
            into.put(b.nioBuffer(b.readerIndex(), n));
            return n;
        } finally {
            b.release();
        }
    }


    @Override
    public Destination destination() {
        return destination;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Closes without waiting (from the loop too): the close_notify and the channel's close are queued there. */
    void closeAsync() {
        if (closed) {
            return;
        }
        closed = true;
        Runnable end = () -> {
            if (ticker != null) {
                ticker.cancel(false);
            }
            driver.close(scratch);
            channel.close();
            Object o;
            while ((o = records.poll()) != null) {
                if (o instanceof ByteBuf) {
                    ((ByteBuf) o).release();
                }
            }
            records.add(CLOSED_HERE);
            onClose.run();
        };
        if (channel.eventLoop().inEventLoop()) {
            end.run();
        } else {
            try {
                channel.eventLoop().execute(end);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                channel.close();
                onClose.run();
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            onLoop(() -> {
                if (ticker != null) {
                    ticker.cancel(false);
                }
                driver.close(scratch);
            });
        } catch (IOException e) {
            // closing anyway
        }
        channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        Object o;
        while ((o = records.poll()) != null) {
            if (o instanceof ByteBuf) {
                ((ByteBuf) o).release();
            }
        }
        records.add(CLOSED_HERE); // wakes a receive that waits meanwhile
        onClose.run();
    }
}

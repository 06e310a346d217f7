package com.example.streamproxy.nio;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * TLS over one blocking NIO {@link SocketChannel} with an {@link SSLEngine}: a handshake, then a stream of
 * application bytes each way. One thread may read while another writes (the engine allows {@code wrap} and
 * {@code unwrap} at once; each side has its own lock). Buffers are allocated once per connection; bytes decrypted
 * but not yet asked for stay in {@code appIn}, so that bytes pipelined behind a header are kept. Reads come through
 * the socket adaptor's stream so that a read timeout ({@link #setReadTimeout}) leaves the connection usable; closing
 * the channel from another thread ends a blocked read or write at once.
 */
class TlsChannel implements Closeable {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    final SocketChannel channel;
    final SSLEngine engine;
    private final InputStream rawIn;
    private final Object readLock = new Object();
    private final ReentrantLock writeLock = new ReentrantLock();
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    private ByteBuffer netOut;
    private boolean inboundDone;
    private volatile boolean handshaking;
    private volatile boolean outboundDone;

    TlsChannel(SocketChannel channel, SSLEngine engine) throws IOException {
        this.channel = channel;
        this.engine = engine;
        this.rawIn = channel.socket().getInputStream();
        int packet = engine.getSession().getPacketBufferSize();
        this.netIn = ByteBuffer.allocate(packet);
        this.netOut = ByteBuffer.allocate(packet);
        this.appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
    }

    /**
     * Runs the handshake on the calling thread. Not bounded here: the caller closes the channel at its deadline.
     *
     * @throws IOException if the handshake fails or the peer leaves
     */
    void handshake() throws IOException {
        handshaking = true;
        try {
            runHandshake();
        } finally {
            handshaking = false;
        }
    }

    private void runHandshake() throws IOException {
        engine.beginHandshake();
        while (true) {
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP:
                    writeLock.lock();
                    try {
                        wrapAndSend(EMPTY);
                    } finally {
                        writeLock.unlock();
                    }
                    break;
                case NEED_UNWRAP:
                case NEED_UNWRAP_AGAIN:
                    synchronized (readLock) {
                        if (unwrapOnce() < 0) {
                            throw new EOFException("the peer closed the connection during the TLS handshake");
                        }
                    }
                    break;
                case NEED_TASK:
                    runTasks();
                    break;
                default:
                    return;
            }
        }
    }

    /**
     * Bounds every later read (zero: no bound); a read that times out throws {@link SocketTimeoutException} and
     * leaves the connection usable.
     *
     * @param millis the bound
     * @throws IOException if the channel is closed
     */
    void setReadTimeout(int millis) throws IOException {
        channel.socket().setSoTimeout(millis);
    }

    /**
     * Reads application bytes into {@code dst}.
     *
     * @param dst where they go
     * @return how many, or -1 at the end of the peer's stream (close_notify, or a bare FIN)
     * @throws IOException on a failure or reset
     */
    int read(ByteBuffer dst) throws IOException {
        synchronized (readLock) {
            while (true) {
                if (appIn.position() > 0) {
                    appIn.flip();
                    int n = Math.min(appIn.remaining(), dst.remaining());
                    int limit = appIn.limit();
                    appIn.limit(appIn.position() + n);
                    dst.put(appIn);
                    appIn.limit(limit);
                    appIn.compact();
                    return n;
                }
                if (inboundDone) {
                    return -1;
                }
                if (unwrapOnce() < 0) {
                    inboundDone = true;
                }
            }
        }
    }

    /**
     * Drops the application bytes decrypted but not read yet. Only the deliberately broken variants call this.
     */
    void dropBuffered() {
        synchronized (readLock) {
            appIn.clear();
        }
    }

    /**
     * Encrypts and sends all of {@code src}.
     *
     * @param src the bytes, from position to limit
     * @throws IOException if the connection failed or its output was closed
     */
    void write(ByteBuffer src) throws IOException {
        writeLock.lock();
        try {
            if (outboundDone) {
                throw new IOException("TLS output already closed");
            }
            while (src.hasRemaining()) {
                wrapAndSend(src);
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Ends this side's direction: sends close_notify and a FIN; the other direction stays open (TLS 1.3).
     *
     * @throws IOException if sending fails
     */
    void shutdownOutput() throws IOException {
        writeLock.lock();
        try {
            if (outboundDone) {
                return;
            }
            outboundDone = true;
            engine.closeOutbound();
            while (!engine.isOutboundDone()) {
                wrapAndSend(EMPTY);
            }
            if (channel.isOpen()) {
                channel.shutdownOutput();
            }
        } finally {
            writeLock.unlock();
        }
    }

    /** Ends the connection with a reset (SO_LINGER 0), so that the peer cannot take it for a clean end. */
    void reset() {
        try {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException e) {
            // closed already
        }
        close();
    }

    /** Sends close_notify when it can without waiting long, then closes. */
    void closeGracefully() {
        if (writeLock.tryLock()) { // a writer blocked on a peer that stopped reading must not block the close
            try {
                shutdownOutput();
            } catch (IOException | RuntimeException e) {
                // the peer is gone: close anyway
            } finally {
                writeLock.unlock();
            }
        }
        close();
    }

    /**
     * Closes a refused connection without turning the client's last bytes into a reset: sends the pending alert or
     * close_notify and a FIN, drops what the client still sends for at most {@code millis} (or until it closes),
     * then closes. Without this the client's TCP stack may discard the alert when a reset overtakes it.
     *
     * @param millis the bound on the wait
     */
    void drainAndClose(int millis) {
        try {
            shutdownOutput();
        } catch (IOException | RuntimeException e) {
            // the alert could not be sent: still drain, then close
        }
        try {
            channel.socket().setSoTimeout(millis);
            long end = System.nanoTime() + millis * 1_000_000L;
            byte[] sink = netIn.array();
            while (System.nanoTime() < end && rawIn.read(sink, 0, sink.length) >= 0) {
                // drop
            }
        } catch (IOException | RuntimeException e) {
            // timed out, reset or closed: close now
        } finally {
            close();
        }
    }

    /** Closes the channel at once; a read or write blocked on another thread ends. Idempotent. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    /** Unwraps one record, reading from the network when the buffer holds none: 0 or more bytes, -1 at the end. */
    private int unwrapOnce() throws IOException {
        while (true) {
            netIn.flip();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, appIn);
            } finally {
                netIn.compact();
            }
            switch (r.getStatus()) {
                case OK:
                    afterUnwrap(r);
                    if (r.bytesProduced() > 0 || r.getHandshakeStatus() != SSLEngineResult.HandshakeStatus
                            .NOT_HANDSHAKING || r.bytesConsumed() > 0) {
                        return r.bytesProduced();
                    }
                    break;
                case BUFFER_UNDERFLOW:
                    if (netIn.remaining() == 0) {
                        netIn = grow(netIn, engine.getSession().getPacketBufferSize());
                    }
                    if (readNetwork() < 0) {
                        return -1;
                    }
                    break;
                case BUFFER_OVERFLOW:
                    appIn = grow(appIn, engine.getSession().getApplicationBufferSize());
                    break;
                case CLOSED:
                default:
                    afterUnwrap(r);
                    return -1;
            }
        }
    }

    /** After an unwrap: runs delegated tasks, and answers what the engine must send (a key update, TLS 1.2 close). */
    private void afterUnwrap(SSLEngineResult r) throws IOException {
        SSLEngineResult.HandshakeStatus hs = r.getHandshakeStatus();
        if (hs == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            runTasks();
            hs = engine.getHandshakeStatus();
        }
        if (hs == SSLEngineResult.HandshakeStatus.NEED_WRAP && !handshaking) {
            writeLock.lock();
            try {
                while (engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                    if (wrapAndSend(EMPTY) == SSLEngineResult.Status.CLOSED) {
                        break;
                    }
                }
            } finally {
                writeLock.unlock();
            }
        }
    }

    private int readNetwork() throws IOException {
        int n = rawIn.read(netIn.array(), netIn.arrayOffset() + netIn.position(), netIn.remaining());
        if (n > 0) {
            netIn.position(netIn.position() + n);
        }
        return n;
    }

    /** Wraps from {@code src} into one TLS record and writes it out. Callers hold {@code writeLock}. */
    private SSLEngineResult.Status wrapAndSend(ByteBuffer src) throws IOException {
        while (true) {
            netOut.clear();
            SSLEngineResult r = engine.wrap(src, netOut);
            switch (r.getStatus()) {
                case BUFFER_OVERFLOW:
                    netOut = grow(netOut, engine.getSession().getPacketBufferSize());
                    continue;
                case CLOSED:
                    if (r.bytesProduced() == 0) {
                        if (src.hasRemaining()) {
                            throw new SSLException("TLS connection closed");
                        }
                        return r.getStatus();
                    }
                    break;
                default:
                    break;
            }
            netOut.flip();
            while (netOut.hasRemaining()) {
                channel.write(netOut);
            }
            if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                runTasks();
            }
            return r.getStatus();
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    private static ByteBuffer grow(ByteBuffer b, int atLeast) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(atLeast, b.capacity() * 2));
        b.flip();
        bigger.put(b);
        return bigger;
    }
}

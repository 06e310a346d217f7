package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.streamproxy.Destination;
import io.streamproxy.TcpTunnel;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Blocking streams over a Netty tunnel channel, for the transport-neutral {@link TcpTunnel} API. Reads are pulled:
 * the channel does not auto-read, and the input stream asks for more when it has used what arrived. Writes wait
 * while the channel is not writable.
 */
final class NettyTcpTunnel implements TcpTunnel {
    private static final Object EOF = new Object();

    final Bridge bridge = new Bridge();
    private final LinkedBlockingQueue<Object> inbound = new LinkedBlockingQueue<>();
    private final Object writable = new Object();
    private volatile Channel channel;
    private volatile Destination destination;
    private volatile long readTimeoutMillis;
    private final Runnable onClose;
    private final In in = new In();
    private final Out out = new Out();
    /** The largest buffer one write of the output takes from the pool; a larger write is split. */
    private static final int WRITE_CHUNK = 64 * 1024;

    /** Whether a write's bytes go into a pooled direct buffer (else a pooled heap one): what the engine reads best. */
    private volatile boolean directWrites = true;

    NettyTcpTunnel(Runnable onClose) {
        this.onClose = onClose;
    }

    void attach(Channel ch, Destination d) {
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        // BoringSSL encrypts from native memory (a heap buffer is copied there first); the JDK's engine from either
        this.directWrites = ssl == null || ssl.engine() instanceof HalfCloseSslEngine
                || ssl.engine() instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
        this.channel = ch;
        this.destination = d;
        ch.config().setAutoRead(false);
        ch.read();
    }

    /** The pipeline end of the tunnel. */
    final class Bridge extends ChannelInboundHandlerAdapter {
        private boolean sawEof;
        /** Set on the loop when the tunnel is aborted: nothing read after that reaches the reader. */
        private boolean discarding;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (discarding) {
                ReferenceCountUtil.release(msg); // the ciphertext an SslHandler hands on when it is removed
                return;
            }
            inbound.add(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                javax.net.ssl.SSLException cut = sawEof ? null : TlsTruncation.ofEndedInput(ctx.channel());
                inbound.add(cut != null ? cut : EOF); // a server gone without close_notify fails the read
            } else if (evt instanceof SslCloseCompletionEvent && ((SslCloseCompletionEvent) evt).isSuccess()
                    && ctx.pipeline().get(SslHandler.class).engine().isInboundDone()) {
                inbound.add(EOF); // a real close_notify, not OpenSSL's early report after our own
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl != null && ssl.engine().isInboundDone() && !sawEof) {
                sawEof = true;
                inbound.add(EOF);
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            synchronized (writable) {
                writable.notifyAll();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            inbound.add(EOF);
            synchronized (writable) {
                writable.notifyAll();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            inbound.add(cause instanceof IOException ? cause : new IOException(cause.getMessage(), cause));
            ctx.close();
        }
    }

    private final class In extends InputStream {
        private ByteBuf current;
        private boolean eof;
        private IOException failure;
        private boolean released;

        private boolean fill() throws IOException {
            while (current == null || !current.isReadable()) {
                if (current != null) {
                    current.release();
                    current = null;
                }
                if (eof) {
                    return false;
                }
                if (failure != null) {
                    throw failure;
                }
                if (released) {
                    throw new IOException("tunnel is closed");
                }
                Object o = inbound.poll();
                if (o == null) {
                    Channel ch = channel;
                    if (ch != null) {
                        ch.read();
                    }
                    try {
                        long t = readTimeoutMillis;
                        o = t > 0 ? inbound.poll(t, TimeUnit.MILLISECONDS) : inbound.take();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted");
                    }
                    if (o == null) {
                        throw new SocketTimeoutException("read timed out after " + readTimeoutMillis + " ms");
                    }
                }
                if (o == EOF) {
                    eof = true;
                } else if (o instanceof IOException) {
                    failure = (IOException) o;
                } else {
                    current = (ByteBuf) o;
                }
            }
            return true;
        }

        @Override
        public synchronized int read() throws IOException {
            return fill() ? current.readByte() & 0xff : -1;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, current.readableBytes());
            current.readBytes(b, off, n);
            return n;
        }

        synchronized void release() {
            released = true;
            if (current != null) {
                current.release();
                current = null;
            }
            Object o;
            while ((o = inbound.poll()) != null) {
                ReferenceCountUtil.release(o);
            }
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Channel ch = channel;
            if (ch == null || !ch.isActive()) {
                throw new IOException("tunnel is closed");
            }
            // one copy, into a pooled buffer the engine encrypts from directly: the caller may reuse its array as
            // soon as this returns, so the bytes cannot stay in it, and BoringSSL would copy a heap buffer again
            for (int done = 0; done < len; ) {
                int n = Math.min(len - done, WRITE_CHUNK);
                ByteBuf buf = directWrites ? ch.alloc().directBuffer(n) : ch.alloc().heapBuffer(n);
                buf.writeBytes(b, off + done, n);
                done += n;
                if (done < len) {
                    ch.write(buf, ch.voidPromise());
                } else {
                    ch.writeAndFlush(buf, ch.voidPromise());
                }
            }
            synchronized (writable) {
                while (!ch.isWritable() && ch.isActive()) {
                    try {
                        writable.wait(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted");
                    }
                }
            }
            if (!ch.isActive()) {
                throw new IOException("tunnel closed while writing");
            }
        }
    }

    @Override
    public InputStream input() {
        return in;
    }

    @Override
    public OutputStream output() {
        return out;
    }

    @Override
    public void shutdownOutput() throws IOException {
        Channel ch = channel;
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        try {
            ssl.closeOutbound().await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    @Override
    public void setReadTimeout(Duration timeout) {
        readTimeoutMillis = timeout.toMillis();
    }

    @Override
    public Destination destination() {
        return destination;
    }

    @Override
    public SocketAddress localAddress() {
        return channel.localAddress();
    }

    @Override
    public void abort() {
        Channel ch = channel;
        if (ch != null && ch.isOpen()) {
            io.netty.handler.ssl.SslHandler ssl = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
            ch.eventLoop().execute(() -> {
                bridge.discarding = true;
                inbound.add(new IOException("tunnel aborted")); // a reader waiting meanwhile fails, as on a reset
                if (ssl != null && ch.pipeline().context(ssl) != null) {
                    ch.pipeline().remove(ssl); // so that closing sends no close_notify
                }
                try {
                    ch.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
                } catch (RuntimeException e) {
                    // it closes plainly
                }
                ch.close();
            });
        }
        close();
    }

    @Override
    public void close() {
        Channel ch = channel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        in.release();
        onClose.run();
    }
}

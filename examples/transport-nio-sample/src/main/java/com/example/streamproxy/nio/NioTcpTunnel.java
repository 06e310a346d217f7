package com.example.streamproxy.nio;

import io.streamproxy.Destination;
import io.streamproxy.TcpTunnel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

/** A client tunnel over a {@link TlsChannel}: streams over the TLS connection, half-close as close_notify. */
final class NioTcpTunnel implements TcpTunnel {
    private final TlsChannel tls;
    private final Destination destination;
    private final Runnable onClose;
    private final InputStream input;
    private final OutputStream output;

    NioTcpTunnel(TlsChannel tls, Destination destination, Runnable onClose) {
        this.tls = tls;
        this.destination = destination;
        this.onClose = onClose;
        this.input = new InputStream() {
            private final ByteBuffer one = ByteBuffer.allocate(1);

            @Override
            public int read() throws IOException {
                synchronized (one) {
                    one.clear();
                    int n = tls.read(one);
                    return n < 0 ? -1 : one.get(0) & 0xff;
                }
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                return tls.read(ByteBuffer.wrap(b, off, len));
            }

            @Override
            public void close() throws IOException {
                NioTcpTunnel.this.close();
            }
        };
        this.output = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                tls.write(ByteBuffer.wrap(b, off, len));
            }

            @Override
            public void close() throws IOException {
                NioTcpTunnel.this.close();
            }
        };
    }

    @Override
    public InputStream input() {
        return input;
    }

    @Override
    public OutputStream output() {
        return output;
    }

    @Override
    public void shutdownOutput() throws IOException {
        tls.shutdownOutput();
    }

    @Override
    public void setReadTimeout(Duration timeout) throws IOException {
        tls.setReadTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    }

    @Override
    public Destination destination() {
        return destination;
    }

    @Override
    public SocketAddress localAddress() {
        try {
            return tls.channel.getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }

    /** Resets the connection (SO_LINGER 0, no close_notify), which the server relays to the destination. */
    @Override
    public void abort() {
        onClose.run();
        tls.reset();
    }

    @Override
    public void close() {
        onClose.run();
        tls.closeGracefully();
    }
}

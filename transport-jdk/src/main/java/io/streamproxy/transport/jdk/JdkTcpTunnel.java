package io.streamproxy.transport.jdk;

import io.streamproxy.Destination;
import io.streamproxy.TcpTunnel;
import io.streamproxy.internal.HandshakeFailures;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import javax.net.ssl.SSLSocket;

/** A TCP tunnel on a client-mode {@link SSLSocket} whose header has been sent. */
final class JdkTcpTunnel implements TcpTunnel {
    private final SSLSocket socket;
    private final java.net.Socket transport;
    private final Destination destination;
    private final InputStream input;
    private final OutputStream output;
    private final Runnable onClose;

    JdkTcpTunnel(SSLSocket socket, java.net.Socket transport, Destination destination, Runnable onClose)
            throws IOException {
        this.socket = socket;
        this.transport = transport;
        this.destination = destination;
        this.input = new RefusalWordingInput(socket.getInputStream());
        this.output = socket.getOutputStream();
        this.onClose = onClose;
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
        socket.shutdownOutput();
    }

    @Override
    public void setReadTimeout(java.time.Duration timeout) throws IOException {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative read timeout " + timeout);
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    }

    @Override
    public Destination destination() {
        return destination;
    }

    @Override
    public SocketAddress localAddress() {
        return socket.getLocalSocketAddress();
    }

    @Override
    public void close() throws IOException {
        try {
            socket.close();
        } finally {
            onClose.run();
        }
    }

    /** Resets the TCP connection under the TLS layer (SO_LINGER 0), so that no close_notify goes first. */
    @Override
    public void abort() throws IOException {
        try {
            transport.setSoLinger(true, 0);
        } catch (IOException | RuntimeException e) {
            // already closed
        }
        try {
            transport.close();
            socket.close();
        } finally {
            onClose.run();
        }
    }

    @Override
    public String toString() {
        return "TcpTunnel{" + socket.getLocalSocketAddress() + " -> " + socket.getRemoteSocketAddress() + " -> "
                + destination + "}";
    }

    /**
     * The socket's input, whose failures carrying the server's certificate alert (in TLS 1.3 the refusal of this
     * client's certificate comes on the first read, after the handshake) say so in words.
     */
    private static final class RefusalWordingInput extends java.io.FilterInputStream {
        RefusalWordingInput(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return in.read();
            } catch (javax.net.ssl.SSLException e) {
                throw HandshakeFailures.wordedRefusal(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (javax.net.ssl.SSLException e) {
                throw HandshakeFailures.wordedRefusal(e);
            }
        }
    }
}

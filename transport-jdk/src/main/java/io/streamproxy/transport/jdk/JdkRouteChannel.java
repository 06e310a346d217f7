package io.streamproxy.transport.jdk;

import io.streamproxy.TlsRoute;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;

/**
 * A route connection on a JDK TLS socket: the serving thread reads and hands bytes to the route's
 * {@link TlsRoute.Connection}; writes go straight to the socket. A connection idle for
 * {@link TlsRoute#IDLE_TIMEOUT_SECONDS} is closed.
 */
final class JdkRouteChannel implements TlsRoute.Channel {
    private final SSLSocket socket;
    private final String alpn;
    private final Object writeLock = new Object();
    private volatile boolean closed;

    JdkRouteChannel(SSLSocket socket, String alpn) {
        this.socket = socket;
        this.alpn = alpn == null ? "" : alpn;
    }

    /** Serves the connection on the calling thread until it ends. */
    void serve(TlsRoute route) {
        TlsRoute.Connection connection = route.open(this);
        byte[] buffer = new byte[16 * 1024];
        try {
            socket.setSoTimeout(TlsRoute.IDLE_TIMEOUT_SECONDS * 1000);
            InputStream in = socket.getInputStream();
            int n;
            while (!closed && (n = in.read(buffer)) >= 0) {
                connection.received(ByteBuffer.wrap(buffer, 0, n));
            }
        } catch (SocketTimeoutException e) {
            // idle: close
        } catch (IOException | RuntimeException e) {
            // the connection failed or was closed
        } finally {
            close();
            connection.closed();
        }
    }

    @Override
    public SocketAddress remoteAddress() {
        return socket.getRemoteSocketAddress();
    }

    @Override
    public String applicationProtocol() {
        return alpn;
    }

    @Override
    public List<Certificate> peerCertificates() {
        try {
            return Arrays.asList(socket.getSession().getPeerCertificates());
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    @Override
    public void write(ByteBuffer data) {
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        synchronized (writeLock) {
            if (closed) {
                return;
            }
            try {
                OutputStream out = socket.getOutputStream();
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                close();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        TcpRelay.closeQuietly(socket);
    }
}

package com.example.streamproxy.nio;

import io.streamproxy.TlsRoute;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * A route connection as the sample offers it to a {@link TlsRoute}: writes are encrypted and sent on the caller's
 * thread before {@link #write} returns; {@link #close()} sends close_notify and closes, which also ends the read
 * loop that feeds the route.
 */
final class RouteChannel implements TlsRoute.Channel {
    private final TlsChannel tls;
    private final String alpn;

    RouteChannel(TlsChannel tls, String alpn) {
        this.tls = tls;
        this.alpn = alpn == null ? "" : alpn;
    }

    @Override
    public SocketAddress remoteAddress() {
        try {
            return tls.channel.getRemoteAddress();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public String applicationProtocol() {
        return alpn;
    }

    @Override
    public List<Certificate> peerCertificates() {
        try {
            return List.of(tls.engine.getSession().getPeerCertificates());
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    @Override
    public void write(ByteBuffer data) {
        try {
            tls.write(data);
        } catch (IOException e) {
            tls.close();
        }
    }

    @Override
    public void close() {
        tls.closeGracefully();
    }
}

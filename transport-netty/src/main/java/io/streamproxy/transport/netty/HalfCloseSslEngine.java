package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.SSL;
import io.netty.util.ReferenceCounted;
import io.netty.util.internal.PlatformDependent;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLEngineResult.Status;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * Netty's OpenSSL (BoringSSL) engine with TLS half-close: a received close_notify ends only the inbound direction, and
 * the engine goes on encrypting what the local side still sends, as the JDK engine does. Netty's engine answers a
 * received close_notify by closing its outbound side as well (netty/netty#6167), which would cut the reply a
 * half-closing client waits for. Until the handshake finishes every call goes to Netty's engine; after it, this
 * engine decrypts the records itself with {@code SSL_read} on the same native session, so Netty's engine never sees
 * the close_notify, while wrapping (and everything else) stays with Netty's engine. BoringSSL keeps writing after it
 * has read a close_notify; only {@code SSL_shutdown} ends the outbound side, when the relay closes it.
 */
final class HalfCloseSslEngine extends SSLEngine implements ReferenceCounted {
    private static final int RECORD_HEADER = 5;
    private static final int MAX_PLAINTEXT = 16 * 1024;
    private static final Field NETWORK_BIO = networkBioField();

    private final ReferenceCountedOpenSslEngine engine;
    private final ByteBufAllocator alloc;
    private final ByteBuffer[] singleDestination = new ByteBuffer[1];
    private boolean established;
    private boolean closeNotifyReceived;
    private long bio;

    HalfCloseSslEngine(ReferenceCountedOpenSslEngine engine, ByteBufAllocator alloc) {
        super(engine.getPeerHost(), engine.getPeerPort());
        this.engine = engine;
        this.alloc = alloc;
    }

    /** @return true if BoringSSL resumed an earlier session in this handshake (a ticket or a session id) */
    boolean sessionReused() {
        long ssl = engine.sslPointer();
        return ssl != 0 && SSL.isSessionReused(ssl);
    }

    /** Whether the engine can be built here: the field it reads from Netty's engine is where this Netty has it. */
    static boolean available() {
        return NETWORK_BIO != null;
    }

    private static Field networkBioField() {
        try {
            Field f = ReferenceCountedOpenSslEngine.class.getDeclaredField("networkBIO");
            if (f.getType() != long.class) {
                return null;
            }
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
        synchronized (engine) {
            return noted(engine.wrap(srcs, offset, length, dst));
        }
    }

    /**
     * The one-buffer form {@code SslHandler} calls for every record: the JDK's default wraps {@code dst} in a new
     * array each time; this one reuses its own (calls on one engine hold its lock).
     */
    @Override
    public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer dst) throws SSLException {
        synchronized (engine) {
            singleDestination[0] = dst;
            try {
                return unwrap(src, singleDestination, 0, 1);
            } finally {
                singleDestination[0] = null;
            }
        }
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
        synchronized (engine) {
            if (!established) {
                return noted(engine.unwrap(src, dsts, offset, length));
            }
            if (closeNotifyReceived) {
                return new SSLEngineResult(Status.CLOSED, handshakeStatus(), 0, 0);
            }
            return read(src, dsts, offset, length);
        }
    }

    private SSLEngineResult noted(SSLEngineResult result) {
        if (result.getHandshakeStatus() == HandshakeStatus.FINISHED) {
            established = true;
        }
        return result;
    }

    /** Decrypts one record from {@code src} (the JDK's contract: one record per call) into {@code dsts}. */
    private SSLEngineResult read(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
        int available = src.remaining();
        if (available < RECORD_HEADER) {
            return new SSLEngineResult(Status.BUFFER_UNDERFLOW, handshakeStatus(), 0, 0);
        }
        int pos = src.position();
        int type = src.get(pos) & 0xff;
        if (type < 20 || type > 24) {
            throw new SSLException("not a TLS record (content type " + type + ")");
        }
        int packet = RECORD_HEADER + ((src.get(pos + 3) & 0xff) << 8 | (src.get(pos + 4) & 0xff));
        long capacity = 0;
        for (int i = offset; i < offset + length; i++) {
            capacity += dsts[i].remaining();
        }
        if (capacity < Math.min(MAX_PLAINTEXT, packet - RECORD_HEADER)) {
            return new SSLEngineResult(Status.BUFFER_OVERFLOW, handshakeStatus(), 0, 0);
        }
        if (available < packet) {
            return new SSLEngineResult(Status.BUFFER_UNDERFLOW, handshakeStatus(), 0, 0);
        }
        long ssl = engine.sslPointer();
        if (ssl == 0) {
            throw new SSLException("the TLS session is already freed");
        }
        long networkBio = bio();
        ByteBuf copy = null;
        long address;
        if (src.isDirect()) {
            address = PlatformDependent.directBufferAddress(src) + pos;
        } else {
            copy = alloc.directBuffer(packet);
            copy.writeBytes(src.duplicate().limit(pos + packet));
            address = copy.memoryAddress();
        }
        int produced = 0;
        try {
            SSL.bioSetByteBuffer(networkBio, address, packet, false);
            try {
                for (int i = offset; i < offset + length && !closeNotifyReceived; ) {
                    ByteBuffer dst = dsts[i];
                    if (!dst.hasRemaining()) {
                        i++;
                        continue;
                    }
                    int n = readPlaintext(ssl, dst);
                    if (n > 0) {
                        produced += n;
                        continue;
                    }
                    int error = SSL.getError(ssl, n);
                    if (error == SSL.SSL_ERROR_ZERO_RETURN) {
                        closeNotifyReceived = true; // the peer's half-close: the outbound side stays open
                    } else if (error == SSL.SSL_ERROR_WANT_READ || error == SSL.SSL_ERROR_WANT_WRITE) {
                        break; // the record held no application data (a ticket, a key update) or is all read
                    } else {
                        String reason = SSL.getErrorString(SSL.getLastErrorNumber());
                        SSL.clearError();
                        throw new SSLException("TLS: " + reason);
                    }
                }
            } finally {
                int consumed = packet - SSL.bioLengthByteBuffer(networkBio);
                SSL.bioClearByteBuffer(networkBio);
                src.position(pos + consumed);
            }
            return new SSLEngineResult(closeNotifyReceived ? Status.CLOSED : Status.OK, handshakeStatus(),
                    src.position() - pos, produced);
        } finally {
            if (copy != null) {
                copy.release();
            }
        }
    }

    private int readPlaintext(long ssl, ByteBuffer dst) {
        int pos = dst.position();
        int room = dst.remaining();
        if (dst.isDirect()) {
            int n = SSL.readFromSSL(ssl, PlatformDependent.directBufferAddress(dst) + pos,
                    room);
            if (n > 0) {
                dst.position(pos + n);
            }
            return n;
        }
        ByteBuf out = alloc.directBuffer(Math.min(room, MAX_PLAINTEXT));
        try {
            int n = SSL.readFromSSL(ssl, out.memoryAddress(), out.capacity());
            if (n > 0) {
                out.writerIndex(n);
                out.readBytes(dst);
            }
            return n;
        } finally {
            out.release();
        }
    }

    private long bio() throws SSLException {
        if (bio == 0) {
            try {
                bio = NETWORK_BIO.getLong(engine);
            } catch (IllegalAccessException e) {
                throw new SSLException("cannot reach the TLS session's network buffer", e);
            }
            if (bio == 0) {
                throw new SSLException("the TLS session is already freed");
            }
        }
        return bio;
    }

    /** NEED_WRAP while BoringSSL holds bytes that are not application data (a key update's answer, an alert). */
    private HandshakeStatus handshakeStatus() {
        long networkBio = bio;
        return networkBio != 0 && engine.sslPointer() != 0 && SSL.bioLengthNonApplication(networkBio) > 0
                ? HandshakeStatus.NEED_WRAP : HandshakeStatus.NOT_HANDSHAKING;
    }

    @Override
    public HandshakeStatus getHandshakeStatus() {
        synchronized (engine) {
            return established ? handshakeStatus() : engine.getHandshakeStatus();
        }
    }

    @Override
    public void closeInbound() throws SSLException {
        synchronized (engine) {
            if (!closeNotifyReceived) {
                engine.closeInbound(); // throws, as it should, when the peer ended without close_notify
            }
        }
    }

    @Override
    public boolean isInboundDone() {
        synchronized (engine) {
            return closeNotifyReceived || engine.isInboundDone();
        }
    }

    @Override
    public void closeOutbound() {
        engine.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
        return engine.isOutboundDone();
    }

    @Override
    public Runnable getDelegatedTask() {
        return engine.getDelegatedTask();
    }

    @Override
    public void beginHandshake() throws SSLException {
        engine.beginHandshake();
    }

    @Override
    public SSLSession getSession() {
        return engine.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
        return engine.getHandshakeSession();
    }

    @Override
    public String getApplicationProtocol() {
        return engine.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
        return engine.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
        engine.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
        return engine.getHandshakeApplicationProtocolSelector();
    }

    @Override
    public SSLParameters getSSLParameters() {
        return engine.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters params) {
        engine.setSSLParameters(params);
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return engine.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return engine.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
        engine.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
        return engine.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
        return engine.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
        engine.setEnabledProtocols(protocols);
    }

    @Override
    public void setUseClientMode(boolean mode) {
        engine.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
        return engine.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
        engine.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
        return engine.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
        engine.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
        return engine.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
        engine.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
        return engine.getEnableSessionCreation();
    }

    @Override
    public int refCnt() {
        return engine.refCnt();
    }

    @Override
    public HalfCloseSslEngine retain() {
        engine.retain();
        return this;
    }

    @Override
    public HalfCloseSslEngine retain(int increment) {
        engine.retain(increment);
        return this;
    }

    @Override
    public HalfCloseSslEngine touch() {
        engine.touch();
        return this;
    }

    @Override
    public HalfCloseSslEngine touch(Object hint) {
        engine.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return engine.release();
    }

    @Override
    public boolean release(int decrement) {
        return engine.release(decrement);
    }
}

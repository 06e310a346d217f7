package io.streamproxy.testkit;

import io.streamproxy.TlsCredentials;
import io.streamproxy.protocol.dtls.DtlsDriver;
import io.streamproxy.protocol.dtls.DtlsScratch;
import java.io.Closeable;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * A DTLS 1.2 client that does only what a test tells it: stop after the ClientHello, present no certificate, send
 * any first record. Built on the JDK's engine, for the negative cases the real client refuses to produce.
 */
public final class RawDtlsClient implements Closeable, DtlsDriver.Output {
    private final DatagramChannel channel;
    private final DtlsDriver driver;
    private final DtlsScratch scratch = new DtlsScratch();
    private final byte[] bytes = new byte[65536];
    private final DatagramPacket packet = new DatagramPacket(bytes, bytes.length);
    private final Queue<byte[]> records = new ArrayDeque<>();
    private int transmitted;
    private final java.util.List<byte[]> sent = new java.util.ArrayList<>();

    private RawDtlsClient(InetSocketAddress server, SSLContext context, int localPort) throws IOException {
        channel = DatagramChannel.open();
        channel.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
        channel.bind(new InetSocketAddress(server.getAddress(), localPort));
        channel.connect(server);
        SSLEngine engine = context.createSSLEngine("godoxy.agent", server.getPort());
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(new String[] {"DTLSv1.2"});
        engine.setSSLParameters(p);
        driver = new DtlsDriver(engine, 1200, this);
    }

    /**
     * Creates a client.
     *
     * @param server      the server's UDP address
     * @param credentials client credentials, or null to present no certificate and trust {@code trust}
     * @param trust       credentials whose CAs to trust when {@code credentials} is null
     * @return the client, not yet connected
     * @throws IOException if the socket or context cannot be made
     */
    public static RawDtlsClient create(InetSocketAddress server, TlsCredentials credentials, TlsCredentials trust)
            throws IOException {
        return create(server, credentials, trust, 0);
    }

    /**
     * Creates a client on a given local port (a client restarted on the port of an earlier one).
     *
     * @param server      the server's UDP address
     * @param credentials client credentials (they are trusted as well)
     * @param trust       credentials whose CAs to trust when {@code credentials} is null
     * @param localPort   the local port, or 0 for any
     * @return the client, not yet connected
     * @throws IOException if the socket or context cannot be made
     */
    public static RawDtlsClient create(InetSocketAddress server, TlsCredentials credentials, TlsCredentials trust,
            int localPort) throws IOException {
        try {
            SSLContext context;
            if (credentials != null) {
                context = credentials.newSslContext("DTLSv1.2");
            } else {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
                tmf.init(trust.trustStore());
                context = SSLContext.getInstance("DTLSv1.2");
                context.init(null, tmf.getTrustManagers(), new SecureRandom());
            }
            return new RawDtlsClient(server, context, localPort);
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    /**
     * Sends the ClientHello and nothing more.
     *
     * @throws IOException if sending fails
     */
    public void sendClientHelloOnly() throws IOException {
        driver.begin(scratch, System.nanoTime());
    }

    /**
     * Sends the ClientHello, answers a HelloVerifyRequest with the cookie, and stops there: a client that passed the
     * anti-spoofing check and then went silent.
     *
     * @param timeout how long to wait for each answer
     * @return true if the server answered the second ClientHello (it committed state to this client)
     * @throws IOException if sending fails
     */
    public boolean sendClientHelloWithCookieOnly(Duration timeout) throws IOException {
        driver.begin(scratch, System.nanoTime());
        ByteBuffer verify;
        try {
            verify = receive(timeout.toNanos());
        } catch (SocketTimeoutException e) {
            return false;
        }
        int before = transmitted;
        driver.receive(verify, scratch, System.nanoTime());
        if (transmitted == before) {
            return false; // not a HelloVerifyRequest the engine answered
        }
        try {
            receive(timeout.toNanos());
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    /** @return the local port */
    public int localPort() {
        try {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** @return how many datagrams this client transmitted */
    public int transmitted() {
        return transmitted;
    }

    /**
     * Completes the handshake within the timeout.
     *
     * @param timeout the bound
     * @throws IOException if it fails or times out
     */
    public void handshake(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        driver.begin(scratch, System.nanoTime());
        while (!driver.isHandshakeDone()) {
            if (driver.isClosed()) {
                throw new IOException("handshake ended by the server");
            }
            long now = System.nanoTime();
            if (now >= deadline) {
                throw new SocketTimeoutException("DTLS handshake took longer than " + timeout);
            }
            try {
                ByteBuffer in = receive(Math.min(deadline, driver.timerDeadline()) - now);
                driver.receive(in, scratch, System.nanoTime());
            } catch (SocketTimeoutException e) {
                driver.onTimer(scratch, System.nanoTime());
            }
        }
    }

    /**
     * Sends one record of application data.
     *
     * @param data the bytes
     * @throws IOException if sending fails
     */
    public void send(byte[] data) throws IOException {
        driver.send(ByteBuffer.wrap(data), scratch);
    }

    /**
     * Waits for the next application record, or for the server's close.
     *
     * @param timeout the bound
     * @return the record, or null when the server sent close_notify
     * @throws IOException on a DTLS failure or timeout
     */
    public byte[] receive(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (records.isEmpty()) {
            if (driver.isClosed()) {
                return null;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("nothing within " + timeout);
            }
            driver.receive(receive(left), scratch, System.nanoTime());
        }
        return records.poll();
    }

    private ByteBuffer receive(long nanos) throws IOException {
        channel.socket().setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos)));
        packet.setData(bytes);
        channel.socket().receive(packet);
        return ByteBuffer.wrap(bytes, 0, packet.getLength());
    }

    @Override
    public void transmit(ByteBuffer datagram) throws IOException {
        transmitted++;
        if (sent.size() < 16) {
            byte[] copy = new byte[datagram.remaining()];
            datagram.duplicate().get(copy);
            sent.add(copy);
        }
        channel.write(datagram);
    }

    /**
     * Returns one of the first datagrams this client sent (the first 16 are kept), to send again later.
     *
     * @param index 0 for the first
     * @return a copy of its bytes
     */
    public byte[] sentDatagram(int index) {
        return sent.get(index).clone();
    }

    @Override
    public void record(ByteBuffer plaintext) {
        byte[] copy = new byte[plaintext.remaining()];
        plaintext.get(copy);
        records.add(copy);
    }

    @Override
    public void close() {
        driver.close(scratch);
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
    }
}

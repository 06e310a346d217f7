package io.streamproxy.transport.jdk;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.internal.UdpClientTemplate;
import io.streamproxy.protocol.dtls.DtlsDriver;
import io.streamproxy.protocol.dtls.DtlsScratch;
import io.streamproxy.spi.DurationText;
import java.io.IOException;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;

/**
 * The client end of a UDP tunnel: a connected {@link DatagramChannel} to the server and a {@link DtlsDriver}.
 * Sending and receiving each have their own lock and scratch buffers, so one thread may send while another
 * receives.
 */
final class JdkDatagramTunnel implements UdpClientTemplate.Handshaken, DtlsDriver.Output {
    private final DatagramChannel channel;
    private final DtlsDriver driver;
    private final Runnable onClose;
    private final Object sendLock = new Object();
    private final Object receiveLock = new Object();
    private final DtlsScratch sendScratch = new DtlsScratch();
    private final DtlsScratch receiveScratch = new DtlsScratch();
    private final byte[] packetBytes = new byte[65536];
    private final DatagramPacket packet = new DatagramPacket(packetBytes, packetBytes.length);
    private final Queue<ByteBuffer> extraRecords = new ArrayDeque<>();
    private Destination destination;
    private ByteBuffer receiveInto;
    private int received;
    private volatile boolean closed;

    JdkDatagramTunnel(DatagramChannel channel, SSLEngine engine, int mtu, Runnable onClose) {
        this.channel = channel;
        this.driver = new DtlsDriver(engine, mtu, this);
        this.onClose = onClose;
    }

    /** Runs the handshake until done or {@code deadline} ({@link System#nanoTime()}) passes. */
    void handshake(long deadline, Duration timeout) throws IOException {
        synchronized (receiveLock) {
            driver.begin(receiveScratch, System.nanoTime());
            while (!driver.isHandshakeDone()) {
                if (driver.isClosed()) {
                    throw new SSLHandshakeException("the server ended the DTLS handshake");
                }
                long now = System.nanoTime();
                if (now >= deadline) {
                    // where it stood, so that a stalled handshake can be told from a lost server
                    throw new JdkTcpClient.HandshakeTimeoutException("DTLS handshake with "
                            + channel.getRemoteAddress() + " took longer than " + DurationText.of(timeout) + " ("
                            + driver.handshakeState() + ")");
                }
                long wake = Math.min(deadline, driver.timerDeadline());
                try {
                    ByteBuffer in = receivePacket(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wake - now)));
                    driver.receive(in, receiveScratch, System.nanoTime());
                } catch (SocketTimeoutException e) {
                    driver.onTimer(receiveScratch, System.nanoTime());
                }
            }
        }
    }

    @Override
    public void sendHeader(Destination destination, byte[] header) throws IOException {
        this.destination = destination;
        synchronized (sendLock) {
            driver.send(ByteBuffer.wrap(header), sendScratch);
        }
    }

    private ByteBuffer receivePacket(long timeoutMillis) throws IOException {
        channel.socket().setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
        packet.setData(packetBytes);
        try {
            channel.socket().receive(packet);
        } catch (PortUnreachableException e) {
            ConnectException c = new ConnectException("server UDP port unreachable: " + channel.getRemoteAddress());
            c.initCause(e);
            throw c;
        }
        return ByteBuffer.wrap(packetBytes, 0, packet.getLength());
    }

    @Override
    public void transmit(ByteBuffer datagram) throws IOException {
        try {
            channel.write(datagram);
        } catch (PortUnreachableException e) {
            ConnectException c = new ConnectException("server UDP port unreachable: " + channel.getRemoteAddress());
            c.initCause(e);
            throw c;
        }
    }

    @Override
    public void record(ByteBuffer plaintext) throws IOException {
        if (receiveInto != null && received < 0) {
            if (plaintext.remaining() > receiveInto.remaining()) {
                throw new IOException("a " + plaintext.remaining() + "-byte datagram does not fit the "
                        + receiveInto.remaining() + " bytes left in the receive buffer");
            }
            received = plaintext.remaining();
            receiveInto.put(plaintext);
        } else {
            ByteBuffer copy = ByteBuffer.allocate(plaintext.remaining());
            copy.put(plaintext).flip();
            extraRecords.add(copy);
        }
    }

    @Override
    public void send(ByteBuffer datagram) throws IOException {
        if (closed) {
            throw new IOException("tunnel is closed");
        }
        synchronized (sendLock) {
            driver.send(datagram, sendScratch);
        }
    }

    @Override
    public int receive(ByteBuffer into, Duration timeout) throws IOException {
        synchronized (receiveLock) {
            ByteBuffer extra = extraRecords.poll();
            if (extra != null) {
                if (extra.remaining() > into.remaining()) {
                    throw new IOException("a " + extra.remaining() + "-byte datagram does not fit");
                }
                int n = extra.remaining();
                into.put(extra);
                return n;
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            receiveInto = into;
            received = -1;
            try {
                while (true) {
                    if (driver.isClosed()) {
                        return -1;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new SocketTimeoutException("no datagram within " + DurationText.of(timeout));
                    }
                    ByteBuffer in = receivePacket(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    driver.receive(in, receiveScratch, System.nanoTime());
                    if (received >= 0) {
                        return received;
                    }
                }
            } finally {
                receiveInto = null;
            }
        }
    }


    @Override
    public Destination destination() {
        return destination;
    }

    @Override
    public InetSocketAddress localAddress() {
        try {
            return (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            synchronized (sendLock) {
                driver.close(sendScratch);
            }
        } finally {
            try {
                channel.close();
            } catch (IOException e) {
                // closing
            }
            onClose.run();
        }
    }

    @Override
    public String toString() {
        return "DatagramTunnel{" + localAddress() + " -> " + destination + "}";
    }
}

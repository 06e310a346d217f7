package io.streamproxy.transport.bc;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.internal.UdpClientTemplate;
import io.streamproxy.spi.DurationText;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.bouncycastle.tls.DTLSTransport;

/**
 * The client end of a UDP tunnel on Bouncy Castle. Receiving waits in short slices because Bouncy Castle does not
 * wake a waiting receive for a close_notify; the peer object remembers it.
 */
final class BcDatagramTunnel implements UdpClientTemplate.Handshaken {
    private static final int SLICE_MILLIS = 50;

    private final DTLSTransport dtls;
    private final BcDtlsClientPeer peer;
    private final BcClientTransport transport;
    private final Runnable onClose;
    private final Object sendLock = new Object();
    private final Object receiveLock = new Object();
    private final byte[] sendBuffer = new byte[MAX_DATAGRAM];
    private final byte[] receiveBuffer = new byte[65536];
    private Destination destination;
    private volatile boolean closed;

    BcDatagramTunnel(DTLSTransport dtls, BcDtlsClientPeer peer, BcClientTransport transport, Runnable onClose) {
        this.dtls = dtls;
        this.peer = peer;
        this.transport = transport;
        this.onClose = onClose;
    }

    @Override
    public void sendHeader(Destination destination, byte[] header) throws IOException {
        this.destination = destination;
        synchronized (sendLock) {
            dtls.send(header, 0, header.length);
        }
    }

    @Override
    public void send(ByteBuffer datagram) throws IOException {
        if (closed) {
            throw new IOException("tunnel is closed");
        }
        int n = datagram.remaining();
        if (n > MAX_DATAGRAM) {
            throw new IOException("datagram of " + n + " bytes is over the DTLS record limit of " + MAX_DATAGRAM);
        }
        synchronized (sendLock) {
            datagram.get(sendBuffer, 0, n);
            dtls.send(sendBuffer, 0, n);
        }
    }

    @Override
    public int receive(ByteBuffer into, Duration timeout) throws IOException {
        synchronized (receiveLock) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                if (peer.closeNotifyReceived() || transport.sessionUnknownToServer()) {
                    return -1;
                }
                if (closed) {
                    throw new IOException("tunnel is closed");
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new SocketTimeoutException("no datagram within " + DurationText.of(timeout));
                }
                int n;
                try {
                    n = dtls.receivePending(receiveBuffer, 0, receiveBuffer.length);
                    if (n < 0) {
                        n = dtls.receive(receiveBuffer, 0, receiveBuffer.length,
                                (int) Math.min(left, SLICE_MILLIS));
                    }
                } catch (IOException e) {
                    if (peer.closeNotifyReceived() || transport.sessionUnknownToServer()) {
                        return -1; // Bouncy Castle closed the socket after the server's close_notify
                    }
                    throw e;
                }
                if (n >= 0) {
                    if (n > into.remaining()) {
                        throw new IOException("a " + n + "-byte datagram does not fit the " + into.remaining()
                                + " bytes left in the receive buffer");
                    }
                    into.put(receiveBuffer, 0, n);
                    return n;
                }
            }
        }
    }


    @Override
    public Destination destination() {
        return destination;
    }

    @Override
    public InetSocketAddress localAddress() {
        return transport.localAddress();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            synchronized (sendLock) {
                dtls.close(); // close_notify, then the socket
            }
        } catch (IOException | RuntimeException e) {
            // closing
        } finally {
            transport.close();
            onClose.run();
        }
    }

    @Override
    public String toString() {
        return "DatagramTunnel(bc){" + localAddress() + " -> " + destination + "}";
    }
}

package io.streamproxy.transport.bc;

import io.streamproxy.protocol.dtls.DtlsRecords;
import java.io.IOException;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import org.bouncycastle.tls.DatagramTransport;

/**
 * A connected UDP socket as Bouncy Castle's {@link DatagramTransport}: a large receive limit (it sizes Bouncy
 * Castle's receive buffer) and a send limit from the path MTU (it only cuts handshake messages). After the handshake,
 * an alert in the clear from the server ends the tunnel: the server does not know the session.
 */
final class BcClientTransport implements DatagramTransport {
    private final DatagramChannel channel;
    private final int mtu;
    private final DatagramPacket packet = new DatagramPacket(new byte[0], 0);
    private volatile boolean established;
    private volatile boolean sessionUnknownToServer;

    BcClientTransport(InetSocketAddress server, int mtu) throws IOException {
        this.mtu = mtu;
        this.channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, 1 << 20);
            channel.connect(server);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /** The handshake is done: from now on an alert in the clear is a server that does not know the session. */
    void established() {
        established = true;
    }

    /**
     * Tells whether the server answered with an alert in the clear ({@link DtlsRecords#answerUnknownSession}):
     * it does not know this session, which is over.
     *
     * @return true if it did
     */
    boolean sessionUnknownToServer() {
        return sessionUnknownToServer;
    }

    InetSocketAddress localAddress() {
        try {
            return (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public int getReceiveLimit() {
        return 65507;
    }

    @Override
    public int getSendLimit() {
        return mtu - 48;
    }

    @Override
    public int receive(byte[] buf, int off, int len, int waitMillis) throws IOException {
        synchronized (packet) {
            channel.socket().setSoTimeout(Math.max(1, waitMillis));
            packet.setData(buf, off, len);
            try {
                channel.socket().receive(packet);
            } catch (SocketTimeoutException e) {
                return -1;
            } catch (PortUnreachableException e) {
                ConnectException c = new ConnectException("server UDP port unreachable: "
                        + channel.getRemoteAddress());
                c.initCause(e);
                throw c;
            }
            int n = packet.getLength();
            if (established && DtlsRecords.isClearAlert(ByteBuffer.wrap(buf, off, n))) {
                // Bouncy Castle drops a record of another epoch: say it here, and the tunnel ends
                sessionUnknownToServer = true;
                throw new IOException("the server does not know this DTLS session");
            }
            return n;
        }
    }

    @Override
    public void send(byte[] buf, int off, int len) throws IOException {
        try {
            channel.write(ByteBuffer.wrap(buf, off, len));
        } catch (PortUnreachableException e) {
            ConnectException c = new ConnectException("server UDP port unreachable: " + channel.getRemoteAddress());
            c.initCause(e);
            throw c;
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
    }
}

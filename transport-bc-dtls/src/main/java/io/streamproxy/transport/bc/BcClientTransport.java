package io.streamproxy.transport.bc;

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
 * Castle's receive buffer) and a send limit from the path MTU (it only cuts handshake messages).
 */
final class BcClientTransport implements DatagramTransport {
    private final DatagramChannel channel;
    private final int mtu;
    private final DatagramPacket packet = new DatagramPacket(new byte[0], 0);

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
            return packet.getLength();
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

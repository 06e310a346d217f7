package io.streamproxy.cli;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/** The demo's destinations on loopback: a TCP echo (half-close answered with half-close) and a UDP echo. */
final class EchoDestinations implements Closeable {
    private final ServerSocket tcp;
    private final DatagramChannel udp;

    EchoDestinations() throws IOException {
        tcp = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        udp = DatagramChannel.open();
        udp.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
        udp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        daemon("demo-tcp-echo", this::acceptLoop);
        daemon("demo-udp-echo", this::udpLoop);
    }

    InetSocketAddress tcpAddress() {
        return (InetSocketAddress) tcp.getLocalSocketAddress();
    }

    InetSocketAddress udpAddress() throws IOException {
        return (InetSocketAddress) udp.getLocalAddress();
    }

    private static void daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop() {
        while (!tcp.isClosed()) {
            try {
                Socket s = tcp.accept();
                daemon("demo-tcp-echo-conn", () -> echo(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void echo(Socket s) {
        byte[] buf = new byte[64 * 1024];
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
            while (in.read(buf) >= 0) {
                // wait for the peer to close
            }
        } catch (IOException e) {
            // peer went away
        }
    }

    private void udpLoop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(65536);
        while (udp.isOpen()) {
            try {
                buf.clear();
                SocketAddress from = udp.receive(buf);
                buf.flip();
                udp.send(buf, from);
            } catch (IOException e) {
                if (!udp.isOpen()) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        tcp.close();
        udp.close();
    }
}

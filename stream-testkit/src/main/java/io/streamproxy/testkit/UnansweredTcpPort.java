package io.streamproxy.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback port whose connection attempts hang instead of being refused: a listener that never accepts, with its
 * accept queue filled, so that Linux drops further SYNs. Tests use it to prove a dial timeout without sending
 * anything off the machine.
 */
public final class UnansweredTcpPort implements Closeable {
    private static final int MAX_FILLERS = 256;

    private final ServerSocket listener;
    private final List<Socket> fillers = new ArrayList<>();

    /** Opens the port and fills its accept queue; fails if attempts do not start to hang. */
    public UnansweredTcpPort() {
        try {
            listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            for (int i = 0; i < MAX_FILLERS; i++) {
                Socket s = new Socket();
                fillers.add(s);
                try {
                    s.connect(listener.getLocalSocketAddress(), 200);
                } catch (SocketTimeoutException e) {
                    return; // the queue is full: attempts now hang
                }
            }
            throw new IllegalStateException("connections to a full accept queue did not hang");
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(e);
        }
    }

    /** @return the address whose connection attempts hang */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    @Override
    public void close() {
        for (Socket s : fillers) {
            TcpDestination.closeQuietly(s);
        }
        if (listener != null) {
            TcpDestination.closeQuietly(listener);
        }
    }
}

package io.streamproxy.testkit;

import io.streamproxy.protocol.dtls.DtlsRecords;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A UDP relay on loopback (port 0) between clients and a server that can lose chosen datagrams from the server, or
 * turn to another server. Each client address gets a socket of its own towards the server, so that the server
 * sees one address per client, as without the relay. One thread reads from the clients and one per client from
 * the server; {@link #close()} ends them all.
 */
final class DatagramLossRelay implements Closeable {
    private volatile InetSocketAddress server;
    private final DatagramChannel front;
    private final Map<SocketAddress, DatagramChannel> backs = new ConcurrentHashMap<>();
    private volatile Predicate<ByteBuffer> losing;
    private volatile boolean lostSinceArmed;
    private final AtomicInteger lost = new AtomicInteger();
    private volatile boolean closed;

    DatagramLossRelay(InetSocketAddress server) {
        this.server = server;
        try {
            front = DatagramChannel.open();
            front.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        start("testkit-loss-relay-clients", this::fromClients);
    }

    /** @return the address clients send to */
    InetSocketAddress address() {
        try {
            return (InetSocketAddress) front.getLocalAddress();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Loses every datagram from the server that {@code which} matches, until a client sends again after the first
     * loss (its retransmission): a flight is lost, with any copy of it the server sends at once, and what the server
     * sends in answer to the client's retransmission passes.
     *
     * @param which tells the datagram (position to limit, not to be moved)
     */
    void loseFromServerUntilTheClientRepeats(Predicate<ByteBuffer> which) {
        lostSinceArmed = false;
        losing = which;
    }

    /**
     * Sends what clients send from now on to another server, from the same addresses: to that server the clients'
     * sessions are sessions it does not know, as to a server restarted on the same address.
     *
     * @param to the other server
     */
    void redirect(InetSocketAddress to) {
        server = to;
    }

    /** @return how many datagrams were lost */
    int lost() {
        return lost.get();
    }

    /**
     * Tells a datagram that carries a record of a DTLS 1.2 server's final flight: a NewSessionTicket, a
     * ChangeCipherSpec, or a handshake record of a later epoch (the Finished).
     *
     * @param datagram the datagram
     * @return true if it does
     */
    static boolean carriesFinalFlight(ByteBuffer datagram) {
        return anyRecord(datagram, (at, size) -> {
            int type = DtlsRecords.type(datagram, at);
            return type == DtlsRecords.CHANGE_CIPHER_SPEC || type == DtlsRecords.HANDSHAKE
                    && (!DtlsRecords.isClear(datagram, at) || size > DtlsRecords.HEADER
                    && datagram.get(at + DtlsRecords.HEADER) == 4);
        });
    }

    /**
     * Tells a datagram that carries a protected alert (a close_notify after the handshake, say).
     *
     * @param datagram the datagram
     * @return true if it does
     */
    static boolean carriesProtectedAlert(ByteBuffer datagram) {
        return anyRecord(datagram, (at, size) -> DtlsRecords.type(datagram, at) == DtlsRecords.ALERT
                && !DtlsRecords.isClear(datagram, at));
    }

    /** A test of the record at an index, of a size. */
    private interface RecordTest {
        boolean test(int at, int size);
    }

    /** Tells whether a well-framed record of the datagram, up to the first that is not, passes the test. */
    private static boolean anyRecord(ByteBuffer datagram, RecordTest test) {
        for (int at = datagram.position(), size; at < datagram.limit()
                && (size = DtlsRecords.recordSize(datagram, at, 0)) > 0; at += size) {
            if (test.test(at, size)) {
                return true;
            }
        }
        return false;
    }

    private void fromClients() {
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (!closed) {
            try {
                buf.clear();
                SocketAddress client = front.receive(buf);
                buf.flip();
                if (losing != null && lostSinceArmed) {
                    losing = null; // the client repeats its flight: the server's answer passes
                }
                backFor(client).send(buf, server);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // a send failed (the server's port unreachable, say): like a lost datagram
            }
        }
    }

    private DatagramChannel backFor(SocketAddress client) throws IOException {
        DatagramChannel back = backs.get(client);
        if (back == null) {
            back = DatagramChannel.open();
            back.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            backs.put(client, back);
            DatagramChannel from = back;
            start("testkit-loss-relay-server", () -> fromServer(from, client));
            if (closed) {
                back.close();
            }
        }
        return back;
    }

    private void fromServer(DatagramChannel back, SocketAddress client) {
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (!closed) {
            try {
                buf.clear();
                back.receive(buf);
                buf.flip();
                Predicate<ByteBuffer> which = losing;
                if (which != null && which.test(buf)) {
                    lostSinceArmed = true;
                    lost.incrementAndGet();
                    continue;
                }
                front.send(buf, client);
            } catch (IOException e) {
                if (closed || !back.isOpen()) {
                    return;
                }
            }
        }
    }

    private static void start(String name, Runnable loop) {
        Thread t = new Thread(loop, name);
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        front.close();
        for (DatagramChannel back : backs.values()) {
            back.close();
        }
    }
}

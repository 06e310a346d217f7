package io.streamproxy.protocol.dtls;

import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.TunnelSession;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLEngine;

/**
 * The client addresses of one UDP server and their sessions, for the servers that run the JDK's DTLS engine: it
 * demultiplexes datagrams by source. A datagram from an address with no session, or a new ClientHello from an
 * address whose session is established (a client restarted on the same port, RFC 6347 4.2.8), goes through the
 * stateless {@link DtlsCookieFront}: only a ClientHello that echoes the cookie made for its address gets an engine,
 * and only within the core's handshake limits (the server's and its source's); anything else from an unknown
 * address is dropped and counted, a protected application record being answered with a close_notify in the clear
 * so that its client learns its session is gone ({@link DtlsRecords#answerUnknownSession}) (a datagram from a
 * known address that does not decode is dropped by its session's driver). While a new handshake of an established
 * address runs, that address's datagrams go to it; the old session ends when the new one completes its handshake,
 * and goes on if the new one fails. A
 * session that throws is ended, never the server's loop. Not thread-safe: one table per receive loop.
 */
public final class DtlsClientTable {
    /** What the table needs from its transport. */
    public interface Sessions {
        /**
         * Creates the session of a verified client; its {@link DtlsServerSession.Io} must call
         * {@link DtlsClientTable#established} and {@link DtlsClientTable#ended}.
         *
         * @param client the address
         * @param tunnel its state machine, admitted by the core
         * @return the session
         */
        DtlsServerSession create(SocketAddress client, TunnelSession tunnel);

        /**
         * Creates a server engine of the server's context, for the front to answer a cookie-less hello with.
         *
         * @return a new engine ({@link DtlsEngines#server})
         */
        SSLEngine engine();

        /**
         * Sends a datagram from the server's socket (a HelloVerifyRequest, or the answer to a record of an
         * unknown session).
         *
         * @param to       the address
         * @param datagram the bytes; only valid during the call
         * @throws IOException if it could not be sent
         */
        void send(SocketAddress to, ByteBuffer datagram) throws IOException;
    }

    /** A drop reason: a datagram from an address with no session that is not a ClientHello. */
    public static final String DROP_NOT_A_HELLO = "not a ClientHello";
    /**
     * A drop reason: a protected record from an address with no session (the client's session is one this server
     * does not know), answered with a close_notify in the clear ({@link DtlsRecords#answerUnknownSession}).
     */
    public static final String DROP_UNKNOWN_SESSION = "record of an unknown session";

    private final SessionCore core;
    private final Sessions sessions;
    private final DtlsCookieFront front;
    private final ByteBuffer reply = ByteBuffer.allocate(512);
    private final Map<SocketAddress, Entry> entries = new HashMap<>();

    /** The sessions of one address: the current one, and a new handshake that may replace it. */
    private static final class Entry {
        DtlsServerSession current;
        DtlsServerSession replacement;
    }

    /**
     * Creates a table.
     *
     * @param core     the listener's session core (admission, drop reports)
     * @param sessions the transport
     */
    public DtlsClientTable(SessionCore core, Sessions sessions) {
        this.core = core;
        this.sessions = sessions;
        this.front = new DtlsCookieFront(sessions::engine);
    }

    /**
     * Handles a datagram from a client address.
     *
     * @param from     the address
     * @param datagram the bytes; consumed
     * @param now      {@link System#nanoTime()}
     */
    public void fromClient(SocketAddress from, ByteBuffer datagram, long now) {
        Entry e = entries.get(from);
        if (e != null && e.replacement != null) {
            toBoth(e.current, e.replacement, datagram, now);
            return;
        }
        if (e != null && (!e.current.isEstablished() || !DtlsCookieFront.isClientHello(datagram))) {
            DtlsServerSession to = e.current;
            guarded(to, () -> to.fromClient(datagram, now));
            return;
        }
        if (core.isClosing()) {
            return;
        }
        switch (front.check(datagram, from, reply, now)) {
            case NOT_A_CLIENT_HELLO:
                if (e != null) {
                    DtlsServerSession to = e.current;
                    guarded(to, () -> to.fromClient(datagram, now));
                } else if (DtlsRecords.answerUnknownSession(datagram, reply)) {
                    core.dropped(from, DROP_UNKNOWN_SESSION);
                    send(from, reply);
                } else {
                    core.dropped(from, DROP_NOT_A_HELLO);
                }
                return;
            case ANSWERED:
                send(from, reply);
                return;
            default:
        }
        TunnelSession tunnel = core.tryAccept(from, now);
        if (tunnel == null) {
            if (core.isDraining() && DtlsRecords.answerDraining(datagram, reply)) {
                send(from, reply); // told at once, instead of retransmitting into its handshake timeout
            }
            return; // dropped and counted by the core; the client retransmits its ClientHello
        }
        DtlsServerSession s = sessions.create(from, tunnel);
        if (e == null) {
            e = new Entry();
            e.current = s;
            entries.put(from, e);
        } else {
            e.replacement = s;
        }
        guarded(s, () -> s.startVerified(datagram, now));
    }

    private void send(SocketAddress to, ByteBuffer datagram) {
        try {
            sessions.send(to, datagram);
        } catch (IOException | RuntimeException ex) {
            // like any lost datagram: the client sends again
        }
    }

    /**
     * While a new handshake of an established address runs, its handshake datagrams (epoch 0) go to it; any other
     * datagram goes to the established session first, and to the new one only if the established one took no record
     * from it (the new handshake's encrypted Finished, say). So a late or replayed ClientHello that starts a new
     * handshake never cuts the established session off while it runs.
     */
    private void toBoth(DtlsServerSession current, DtlsServerSession replacement, ByteBuffer datagram, long now) {
        int p = datagram.position();
        if (datagram.remaining() >= 13 && datagram.get(p + 3) == 0 && datagram.get(p + 4) == 0) {
            guarded(replacement, () -> replacement.fromClient(datagram, now));
            return;
        }
        ByteBuffer copy = datagram.duplicate();
        long before = current.recordsDelivered();
        guarded(current, () -> current.fromClient(datagram, now));
        if (current.recordsDelivered() == before && !replacement.isEnded()) {
            guarded(replacement, () -> replacement.fromClient(copy, now));
        }
    }

    /**
     * A session's handshake finished: if it is a new handshake of an established address, the old session ends.
     *
     * @param s the session
     */
    public void established(DtlsServerSession s) {
        Entry e = entries.get(s.client());
        if (e != null && e.replacement == s) {
            DtlsServerSession old = e.current;
            e.current = s;
            e.replacement = null;
            old.end("the client started a new session from the same address");
        }
    }

    /**
     * A session ended: it is forgotten (a new handshake of its address, if one runs, takes its place).
     *
     * @param s the session
     */
    public void ended(DtlsServerSession s) {
        Entry e = entries.get(s.client());
        if (e == null) {
            return;
        }
        if (e.replacement == s) {
            e.replacement = null; // the new handshake failed: the established session goes on
        } else if (e.current == s) {
            if (e.replacement != null) {
                e.current = e.replacement;
                e.replacement = null;
            } else {
                entries.remove(s.client());
            }
        }
    }

    /**
     * Runs every session's timers.
     *
     * @param now {@link System#nanoTime()}
     */
    public void tick(long now) {
        for (DtlsServerSession s : all()) {
            guarded(s, () -> s.tick(now));
        }
    }

    /**
     * Ends every session.
     *
     * @param why the reason
     */
    public void endAll(String why) {
        for (DtlsServerSession s : all()) {
            guarded(s, () -> s.end(why));
        }
        entries.clear();
    }

    /** @return the number of client addresses with a session */
    public int size() {
        return entries.size();
    }

    private List<DtlsServerSession> all() {
        List<DtlsServerSession> all = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            all.add(e.current);
            if (e.replacement != null) {
                all.add(e.replacement);
            }
        }
        return all;
    }

    /** Runs session code so that a bug in one session ends that session, never the server's loop. */
    private void guarded(DtlsServerSession s, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException ex) {
            try {
                s.end("internal error: " + ex);
            } catch (RuntimeException again) {
                ended(s);
            }
        }
    }
}

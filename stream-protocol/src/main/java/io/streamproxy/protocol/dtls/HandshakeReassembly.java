package io.streamproxy.protocol.dtls;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Puts what a peer sends during a DTLS 1.2 handshake into the shape the JDK's engine can read: whole handshake
 * messages, in order, each before the ChangeCipherSpec and Finished that follow it. The engine reads them as they
 * come, and over a network that loses, repeats and reorders datagrams (simulated in DtlsDriverTest) it fails or
 * stalls: it cannot rebuild a message cut at other boundaries when it comes again (and it cuts its own flights
 * smaller at each retransmission), it drops a message that comes before the one it expects and does not take it from
 * the next copy of the flight, a second HelloVerifyRequest makes its client start over, and its client reads a
 * Finished that overtook (or outlived) the NewSessionTicket before it and fails with "The Finished message cannot be
 * verified".
 *
 * <p>So, of the records of epoch 0: fragments are collected (in any order, cut anyhow, overlapping or repeated) and a
 * message passes once whole, as one record with the header of the fragment that completed it (a record the engine
 * has not seen); whole messages pass in message_seq order, a later one waiting for those before it; a message passed
 * before comes again only while the engine, having retransmitted its own flight, still waits for an answer (it may
 * have let the first copy go: a client's takes a ServerHello for a replay when the cookie front's HelloVerifyRequest
 * had its record number), never once the engine has answered it, and never for a hello (a second
 * HelloVerifyRequest makes the JDK's client start over; a ClientHello again fails the JDK's server). A
 * ChangeCipherSpec, and a handshake record of a later epoch (the Finished), wait while a message before them is
 * missing, and at a client also until the ServerHello has come and, if it promised one (RFC 5077 3.2), the
 * NewSessionTicket; they pass right after what they waited for. Other records pass unchanged, in their order.
 * Bounded: at most {@value #MAX_PENDING} messages of at most {@value #MAX_MESSAGE} bytes are collected or waiting at
 * once, and one ChangeCipherSpec and one Finished wait. Used while a handshake runs; not thread-safe.
 */
final class HandshakeReassembly {
    static final int MAX_MESSAGE = 65536;
    static final int MAX_PENDING = 8;
    private static final int CHANGE_CIPHER_SPEC = DtlsRecords.CHANGE_CIPHER_SPEC;
    private static final int HANDSHAKE = DtlsRecords.HANDSHAKE;
    private static final int CLIENT_HELLO = 1;
    private static final int SERVER_HELLO = 2;
    private static final int HELLO_VERIFY_REQUEST = 3;
    private static final int NEW_SESSION_TICKET = 4;
    private static final int SESSION_TICKET_EXTENSION = 35;
    private static final int HEADER = DtlsRecords.HEADER;
    private static final int MESSAGE_HEADER = HandshakeMessage.MESSAGE_HEADER;

    private final boolean client;
    private final List<HandshakeMessage> pending = new ArrayList<>(2);
    /** Whole messages that came before one they follow, by message_seq, each as its record. */
    private final TreeMap<Integer, byte[]> early = new TreeMap<>();
    private int nextSeq;
    /** The messages below this were answered by a flight of ours. */
    private int answered;
    /** The engine retransmitted its last flight since it sent it. */
    private boolean stalled;
    private boolean serverHello;
    private boolean ticketPromised;
    private boolean ticket;
    private byte[] changeCipherSpec;
    private byte[] finished;
    /** The types of the messages passed, in order (at most 16), for {@link #state()}. */
    private final StringBuilder passed = new StringBuilder();
    /** Messages not passed again, and records of other kinds passed (alerts, say), for {@link #state()}. */
    private int repeated;
    private int others;

    /**
     * Creates one for a handshake.
     *
     * @param client true at a client (which waits for the ServerHello and a promised ticket)
     */
    HandshakeReassembly(boolean client) {
        this.client = client;
    }

    /**
     * Takes a datagram's records.
     *
     * @param datagram position to limit; consumed when a new buffer is returned
     * @return the datagram itself if it passes unchanged, else a new datagram with what passes, in order
     */
    ByteBuffer take(ByteBuffer datagram) {
        List<Object> pass = new ArrayList<>(4); // int[] {from, to} of the datagram, or a record
        boolean changed = false;
        int at = datagram.position();
        while (at < datagram.limit()) {
            int recordSize = DtlsRecords.recordSize(datagram, at, 0);
            if (recordSize < 0) {
                pass.add(new int[] {at, datagram.limit()}); // the engine drops what does not frame
                break;
            }
            int type = DtlsRecords.type(datagram, at);
            boolean clear = DtlsRecords.isClear(datagram, at);
            if (type == HANDSHAKE && clear && recordSize >= HEADER + MESSAGE_HEADER) {
                boolean fragment = isFragment(datagram, at, recordSize);
                byte[] whole = fragment ? collect(datagram, at) : null;
                int seq = datagram.getShort(at + HEADER + 4) & 0xffff;
                if (fragment && whole == null) {
                    changed = true; // collected; the engine gets the message once whole
                } else if (seq > nextSeq) {
                    changed = true;
                    if (early.size() < MAX_PENDING) {
                        early.putIfAbsent(seq, whole != null ? whole : copy(datagram, at, recordSize));
                    }
                } else if (seq < nextSeq) {
                    // a message passed before, again. If the engine has answered its flight, or has not yet had
                    // to retransmit for want of an answer, it is left out (the JDK's engine takes it for part of the
                    // next flight and fails); if it is stalled, it passes, as the engine may have let the first copy
                    // go (a client's takes a ServerHello for a replay when a HelloVerifyRequest had its record
                    // number). Never a hello: a second HelloVerifyRequest makes the JDK's client start over, and a
                    // ClientHello again fails the JDK's server
                    int messageType = datagram.get(at + HEADER) & 0xff;
                    if (seq < answered || !stalled || messageType == HELLO_VERIFY_REQUEST
                            || messageType == CLIENT_HELLO) {
                        changed = true;
                        repeated++;
                    } else {
                        changed |= fragment;
                        pass.add(whole != null ? whole : new int[] {at, at + recordSize});
                    }
                } else {
                    changed |= fragment;
                    Object message = whole != null ? whole : new int[] {at, at + recordSize};
                    while (message != null) {
                        pass.add(message);
                        noteMessage(message instanceof byte[] ? ByteBuffer.wrap((byte[]) message) : datagram,
                                message instanceof byte[] ? 0 : at);
                        message = early.remove(++nextSeq);
                        changed |= message != null;
                    }
                    changed |= release(pass);
                }
            } else if ((type == CHANGE_CIPHER_SPEC || type == HANDSHAKE && !clear) && waiting()) {
                changed = true;
                if (type == CHANGE_CIPHER_SPEC && changeCipherSpec == null) {
                    changeCipherSpec = copy(datagram, at, recordSize);
                } else if (type == HANDSHAKE && finished == null) {
                    finished = copy(datagram, at, recordSize);
                }
            } else {
                pass.add(new int[] {at, at + recordSize});
                others += type == CHANGE_CIPHER_SPEC || type == HANDSHAKE ? 0 : 1;
            }
            at += recordSize;
        }
        if (!changed) {
            return datagram;
        }
        int size = 0;
        for (Object p : pass) {
            size += p instanceof int[] ? ((int[]) p)[1] - ((int[]) p)[0] : ((byte[]) p).length;
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        for (Object p : pass) {
            if (p instanceof int[]) {
                out.put(datagram.duplicate().limit(((int[]) p)[1]).position(((int[]) p)[0]));
            } else {
                out.put((byte[]) p);
            }
        }
        datagram.position(datagram.limit());
        return out.flip();
    }

    /** @return what has come of the peer's messages, for a handshake that timed out */
    String state() {
        return "messages of types [" + passed + "] in, " + repeated + " repeats of them left out, " + others
                + " other records in, next message " + nextSeq + ", " + early.size() + " waiting for an earlier one, "
                + pending.size() + " in fragments" + (client ? ", ServerHello " + (serverHello ? "in" : "not in")
                + (ticketPromised ? ", ticket " + (ticket ? "in" : "not in") : "") : "")
                + (changeCipherSpec != null || finished != null ? ", ChangeCipherSpec or Finished held" : "");
    }

    /** The engine sent a flight: what the peer sent so far has been answered. */
    void flightSent() {
        answered = nextSeq;
        stalled = false;
    }

    /** The engine retransmitted its flight on the timer: what it was given since its last flight got no answer. */
    void retransmitted() {
        stalled = true;
    }

    /** @return true while a ChangeCipherSpec or Finished must wait */
    boolean waiting() {
        return !early.isEmpty() || client && (!serverHello || ticketPromised && !ticket);
    }

    /** Passes the ChangeCipherSpec and Finished that waited, if they need wait no longer; true if any did. */
    private boolean release(List<Object> pass) {
        if (waiting() || changeCipherSpec == null && finished == null) {
            return false;
        }
        if (changeCipherSpec != null) {
            pass.add(changeCipherSpec);
            changeCipherSpec = null;
        }
        if (finished != null) {
            pass.add(finished);
            finished = null;
        }
        return true;
    }

    /** Notes a whole message the engine gets: a ServerHello (does it promise a ticket?), a NewSessionTicket. */
    private void noteMessage(ByteBuffer d, int at) {
        int m = at + HEADER;
        int type = d.get(m) & 0xff;
        if (passed.length() < 64) {
            passed.append(passed.length() == 0 ? "" : " ").append(type);
        }
        if (type == SERVER_HELLO) {
            serverHello = true;
            ticketPromised = promisesTicket(d, m + MESSAGE_HEADER,
                    Math.min(d.limit(), m + MESSAGE_HEADER + HandshakeMessage.uint24(d, m + 1)));
        } else if (type == NEW_SESSION_TICKET) {
            ticket = true;
        }
    }

    /** Whether a ServerHello body carries the SessionTicket extension (RFC 5246 7.4.1.3, RFC 5077 3.2). */
    private static boolean promisesTicket(ByteBuffer d, int body, int end) {
        int p = body + 2 + 32; // server_version, random
        if (p >= end) {
            return false;
        }
        p += 1 + (d.get(p) & 0xff) + 2 + 1; // session_id, cipher_suite, compression_method
        if (p + 2 > end) {
            return false; // no extensions
        }
        int extensionsEnd = Math.min(end, p + 2 + (d.getShort(p) & 0xffff));
        for (p += 2; p + 4 <= extensionsEnd; p += 4 + (d.getShort(p + 2) & 0xffff)) {
            if ((d.getShort(p) & 0xffff) == SESSION_TICKET_EXTENSION) {
                return true;
            }
        }
        return false;
    }

    private static byte[] copy(ByteBuffer d, int at, int size) {
        byte[] b = new byte[size];
        d.duplicate().position(at).get(b);
        return b;
    }

    /** A handshake record of epoch 0 that holds part of a message, not all of it, within the bounds. */
    private static boolean isFragment(ByteBuffer d, int at, int recordSize) {
        int m = at + HEADER;
        boolean partial = HandshakeMessage.uint24(d, m + 6) != 0
                || HandshakeMessage.uint24(d, m + 9) != HandshakeMessage.uint24(d, m + 1);
        return partial && HandshakeMessage.isWellFormedFragment(d, at, recordSize, MAX_MESSAGE);
    }

    /** Adds a fragment; returns the message's record once whole, else null. */
    private byte[] collect(ByteBuffer d, int at) {
        HandshakeMessage message = null;
        for (HandshakeMessage p : pending) {
            if (p.isPartOf(d, at)) {
                message = p;
            }
        }
        if (message == null) {
            if (pending.size() >= MAX_PENDING) {
                pending.remove(0); // the oldest: a peer that sends this many unfinished messages is not waited for
            }
            message = new HandshakeMessage(d, at);
            pending.add(message);
        }
        if (!message.add(d, at)) {
            return null;
        }
        pending.remove(message);
        return message.record(d, at); // with the header of the record that completed it, which the engine has not seen
    }
}

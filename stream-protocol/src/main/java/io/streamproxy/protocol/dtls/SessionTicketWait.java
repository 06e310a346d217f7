package io.streamproxy.protocol.dtls;

import java.nio.ByteBuffer;

/**
 * Keeps a DTLS 1.2 client engine from reading the server's ChangeCipherSpec and Finished before the NewSessionTicket
 * the server promised. A server that answers with a SessionTicket extension in its ServerHello sends a
 * NewSessionTicket just before its ChangeCipherSpec (RFC 5077 3.2). When the datagram carrying it is lost, the JDK's
 * client engine (17 and 25) reads the Finished that follows anyway, hashes a transcript without the ticket and
 * fails the handshake: "The Finished message cannot be verified". Held back here, those records are as good as
 * lost: the client's timer resends its last flight, the server resends its own, ticket included, and the handshake
 * completes. Used only while a client's handshake runs; not thread-safe.
 */
final class SessionTicketWait {
    private static final int CHANGE_CIPHER_SPEC = 20;
    private static final int HANDSHAKE = 22;
    private static final int SERVER_HELLO = 2;
    private static final int NEW_SESSION_TICKET = 4;
    private static final int SESSION_TICKET_EXTENSION = 35;
    private static final int HANDSHAKE_HEADER = 12;

    private boolean promised;
    private int ticketLength = -1;
    private int ticketReceived;

    /**
     * Notes the ServerHello and NewSessionTicket fragments of a datagram from the server, and cuts the datagram's
     * limit before the first record that must wait for the ticket.
     *
     * @param datagram position to limit; its limit may be lowered
     * @return true if records were cut off
     */
    boolean screen(ByteBuffer datagram) {
        int at = datagram.position();
        while (at < datagram.limit()) {
            int size = DtlsRecords.recordSize(datagram, at, 0);
            if (size < 0) {
                return false; // the engine drops what does not frame
            }
            int type = datagram.get(at) & 0xff;
            int epoch = datagram.getShort(at + 3) & 0xffff;
            if (waiting() && (type == CHANGE_CIPHER_SPEC || epoch > 0)) {
                datagram.limit(at);
                return true;
            }
            if (type == HANDSHAKE && epoch == 0 && size >= DtlsRecords.HEADER + HANDSHAKE_HEADER) {
                note(datagram, at + DtlsRecords.HEADER, at + size);
            }
            at += size;
        }
        return false;
    }

    /** @return true while a promised ticket has not wholly arrived */
    boolean waiting() {
        return promised && (ticketLength < 0 || ticketReceived < ticketLength);
    }

    private void note(ByteBuffer d, int message, int end) {
        int type = d.get(message) & 0xff;
        int length = uint24(d, message + 1);
        int offset = uint24(d, message + 6);
        int fragment = Math.min(uint24(d, message + 9), end - message - HANDSHAKE_HEADER);
        if (type == SERVER_HELLO && offset == 0 && fragment == length) {
            promised = promisesTicket(d, message + HANDSHAKE_HEADER, message + HANDSHAKE_HEADER + length);
        } else if (type == NEW_SESSION_TICKET) {
            ticketLength = length;
            if (offset <= ticketReceived) { // fragments in order; one out of order comes again with the flight
                ticketReceived = Math.max(ticketReceived, offset + fragment);
            }
        }
    }

    /** Whether a ServerHello body carries the SessionTicket extension (RFC 5246 7.4.1.3). */
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

    private static int uint24(ByteBuffer d, int at) {
        return (d.get(at) & 0xff) << 16 | (d.get(at + 1) & 0xff) << 8 | (d.get(at + 2) & 0xff);
    }
}

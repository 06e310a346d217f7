package io.streamproxy.protocol.dtls;

import java.nio.ByteBuffer;

/**
 * The framing of DTLS 1.2 records in a datagram (RFC 6347 4.1), checked before a record reaches a DTLS library: a
 * record header is 13 bytes (type, version, epoch, sequence number, length), and a protected record (epoch above 0)
 * holds at least what its cipher adds and at most 2^14 + 2048 bytes. A record that breaks this is dropped without
 * an answer (RFC 6347 4.1.2.7) instead of being given to a library that may end the connection over it.
 */
public final class DtlsRecords {
    /** The size of a record header. */
    public static final int HEADER = 13;
    /** The content type of an alert record. */
    public static final int ALERT = 21;
    /** The content type of a ChangeCipherSpec record. */
    public static final int CHANGE_CIPHER_SPEC = 20;
    /** The content type of a handshake record. */
    public static final int HANDSHAKE = 22;
    /** The content type of an application data record. */
    public static final int APPLICATION_DATA = 23;
    /** The largest DTLSCiphertext fragment: 2^14 plus 2048 bytes of expansion. */
    public static final int MAX_FRAGMENT = 16384 + 2048;
    /** The alert that ends a handshake for a reason that is not a protocol failure (RFC 5246 7.2.2). */
    public static final int USER_CANCELED = 90;
    /** The size of an alert record in the clear: a header and two bytes. */
    public static final int CLEAR_ALERT = HEADER + 2;
    /**
     * The sequence number of the close_notify that answers a record of a session the server does not know: above
     * any of the handshake's own epoch 0 records, so that a client's replay window takes it.
     */
    private static final long UNKNOWN_SESSION_SEQUENCE = 1L << 40;
    /** The fewest bytes a protected application record carries (AES-GCM's explicit nonce and tag). */
    private static final int MIN_PROTECTED = 8 + 16;

    private DtlsRecords() {
    }

    /**
     * Tells whether the record at {@code at} is well framed.
     *
     * @param datagram     the datagram
     * @param at           the index of the record's first byte
     * @param minProtected the fewest bytes a protected record can carry with the connection's cipher (0 if unknown)
     * @return the record's total size, or -1 if it is truncated, too large or too small
     */
    public static int recordSize(ByteBuffer datagram, int at, int minProtected) {
        if (datagram.limit() - at < HEADER) {
            return -1;
        }
        int epoch = datagram.getShort(at + 3) & 0xffff;
        int length = datagram.getShort(at + HEADER - 2) & 0xffff;
        if (length > MAX_FRAGMENT || HEADER + length > datagram.limit() - at || (epoch > 0 && length < minProtected)) {
            return -1;
        }
        return HEADER + length;
    }

    /**
     * Tells whether every record of a datagram is well framed, and there are no more than {@code maxRecords}.
     *
     * @param datagram     the datagram, position to limit (not moved)
     * @param minProtected the fewest bytes a protected record can carry with the connection's cipher
     * @param maxRecords   the most records one datagram may carry
     * @return true to hand it on, false to drop it
     */
    public static boolean wellFramed(ByteBuffer datagram, int minProtected, int maxRecords) {
        int at = datagram.position();
        int records = 0;
        while (at < datagram.limit()) {
            int size = recordSize(datagram, at, minProtected);
            if (size < 0 || ++records > maxRecords) {
                return false;
            }
            at += size;
        }
        return records > 0;
    }

    /**
     * Finds the first application data record (type 23) of a datagram, for holding back what comes before its
     * handshake is done.
     *
     * @param datagram the datagram, position to limit (not moved)
     * @return the index of that record's first byte, or -1 if there is none (or the framing breaks before one)
     */
    static int firstApplicationRecord(ByteBuffer datagram) {
        for (int at = datagram.position(); at < datagram.limit(); ) {
            int size = recordSize(datagram, at, 0);
            if (size < 0) {
                return -1;
            }
            if (type(datagram, at) == APPLICATION_DATA) {
                return at;
            }
            at += size;
        }
        return -1;
    }

    /**
     * Returns a record's content type.
     *
     * @param datagram the datagram
     * @param at       the index of the record's first byte
     * @return the type, 0 to 255
     */
    public static int type(ByteBuffer datagram, int at) {
        return datagram.get(at) & 0xff;
    }

    /**
     * Answers a datagram from an address that has no session, when it starts with a protected application record
     * (epoch above 0; a read with UDP GRO may join several): the client has a session that this server does not
     * know (the server restarted, or ended the session and its close_notify was lost). The answer is a close_notify
     * alert in the clear (epoch 0), which the client's DTLS library cannot authenticate: Go's pion/dtls ends the
     * connection on it, and this project's clients end the tunnel ({@link #isClearAlert}), so that a forward makes a
     * new session instead of sending into the void. It is smaller than what it answers, and never answers an alert,
     * so two servers cannot answer each other.
     *
     * @param datagram the datagram, position to limit (not moved)
     * @param answer   where the answer goes, cleared first and flipped after, when there is one
     * @return true if {@code answer} holds a datagram to send back
     */
    public static boolean answerUnknownSession(ByteBuffer datagram, ByteBuffer answer) {
        int at = datagram.position();
        if (recordSize(datagram, at, MIN_PROTECTED) < 0 || isClear(datagram, at)
                || type(datagram, at) != APPLICATION_DATA) {
            return false;
        }
        answer.clear();
        answer.put((byte) ALERT).put(datagram.get(at + 1)).put(datagram.get(at + 2)); // the client's version
        answer.putShort((short) 0).putShort((short) (UNKNOWN_SESSION_SEQUENCE >>> 32))
                .putInt((int) UNKNOWN_SESSION_SEQUENCE);
        answer.putShort((short) 2).put((byte) 1).put((byte) 0); // warning, close_notify
        answer.flip();
        return true;
    }

    /**
     * Answers a ClientHello that a draining server will not admit: a fatal {@code user_canceled} alert in the clear
     * (epoch 0, the ClientHello's version and record sequence number, as a HelloVerifyRequest has them), which ends
     * the client's handshake at once ("received fatal alert: user_canceled", the alert for a handshake canceled for
     * a reason that is not a protocol failure) instead of leaving it to time out. Only for a ClientHello whose cookie
     * proved its source address, so that it cannot be turned on a third party; smaller than what it answers.
     *
     * @param clientHello the datagram, position to limit (not moved), starting with a handshake record in the clear
     * @param answer      where the answer goes, cleared first and flipped after, when there is one
     * @return true if {@code answer} holds a datagram to send back
     */
    public static boolean answerDraining(ByteBuffer clientHello, ByteBuffer answer) {
        int at = clientHello.position();
        if (recordSize(clientHello, at, 0) < 0 || !isClear(clientHello, at) || type(clientHello, at) != HANDSHAKE) {
            return false;
        }
        answer.clear();
        answer.put((byte) ALERT).put(clientHello.get(at + 1)).put(clientHello.get(at + 2)); // the client's version
        for (int i = 3; i < HEADER - 2; i++) {
            answer.put(clientHello.get(at + i)); // epoch 0 and the ClientHello's sequence number
        }
        answer.putShort((short) 2).put((byte) 2).put((byte) USER_CANCELED); // fatal
        answer.flip();
        return true;
    }

    /**
     * Tells whether a datagram is one alert record in the clear (epoch 0). After the handshake no DTLS library
     * would take such a record (it is not of the session's epoch): a client checks for it itself, as the answer of
     * a server that does not know its session ({@link #answerUnknownSession}).
     *
     * @param datagram the datagram, position to limit (not moved)
     * @return true for one clear alert record
     */
    public static boolean isClearAlert(ByteBuffer datagram) {
        int at = datagram.position();
        return datagram.remaining() == CLEAR_ALERT && type(datagram, at) == ALERT && isClear(datagram, at)
                && recordSize(datagram, at, 0) == CLEAR_ALERT;
    }

    /**
     * Tells whether a record is of epoch 0 (sent in the clear, before the peer's ChangeCipherSpec).
     *
     * @param datagram the datagram
     * @param at       the index of the record's first byte
     * @return true for epoch 0
     */
    public static boolean isClear(ByteBuffer datagram, int at) {
        return datagram.getShort(at + 3) == 0;
    }
}

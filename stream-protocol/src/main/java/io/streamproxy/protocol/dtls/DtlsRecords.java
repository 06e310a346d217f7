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
    /** The content type of a ChangeCipherSpec record. */
    public static final int CHANGE_CIPHER_SPEC = 20;
    /** The content type of a handshake record. */
    public static final int HANDSHAKE = 22;
    /** The content type of an application data record. */
    public static final int APPLICATION_DATA = 23;
    /** The largest DTLSCiphertext fragment: 2^14 plus 2048 bytes of expansion. */
    public static final int MAX_FRAGMENT = 16384 + 2048;

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

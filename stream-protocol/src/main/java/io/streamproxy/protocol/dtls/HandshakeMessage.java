package io.streamproxy.protocol.dtls;

import java.nio.ByteBuffer;
import java.util.BitSet;

/**
 * One DTLS 1.2 handshake message (RFC 6347 4.2.2) collected from its fragments, in any order, cut anyhow, overlapping
 * or repeated, and rebuilt as one unfragmented record, which a DTLS engine reads the same way (the handshake
 * transcript covers the message, not its fragments). Shared by {@link HandshakeReassembly} and the cookie front's
 * ClientHello assembly. Not thread-safe.
 */
final class HandshakeMessage {
    static final int RECORD_HEADER = DtlsRecords.HEADER;
    static final int MESSAGE_HEADER = 12;

    private final int type;
    private final int seq;
    private final byte[] body;
    private final BitSet have;

    /**
     * Starts a message from the header of one of its fragments.
     *
     * @param d  the datagram
     * @param at the index of the fragment's record
     */
    HandshakeMessage(ByteBuffer d, int at) {
        int m = at + RECORD_HEADER;
        this.type = d.get(m) & 0xff;
        this.seq = seq(d, at);
        this.body = new byte[uint24(d, m + 1)];
        this.have = new BitSet(body.length);
    }

    /** @return the message_seq of the handshake record at {@code at} */
    static int seq(ByteBuffer d, int at) {
        return d.getShort(at + RECORD_HEADER + 4) & 0xffff;
    }

    /**
     * Tells whether the handshake record at {@code at} holds a fragment that fits its record and its message.
     *
     * @param d          the datagram
     * @param at         the index of the record
     * @param recordSize the record's size
     * @param maxLength  the largest message accepted
     * @return true if it does
     */
    static boolean isWellFormedFragment(ByteBuffer d, int at, int recordSize, int maxLength) {
        if (recordSize < RECORD_HEADER + MESSAGE_HEADER) {
            return false;
        }
        int m = at + RECORD_HEADER;
        int length = uint24(d, m + 1);
        int offset = uint24(d, m + 6);
        int fragment = uint24(d, m + 9);
        return length <= maxLength && offset + fragment <= length && MESSAGE_HEADER + fragment <= recordSize
                - RECORD_HEADER;
    }

    /** @return true if the handshake record at {@code at} is a fragment of this message */
    boolean isPartOf(ByteBuffer d, int at) {
        int m = at + RECORD_HEADER;
        return (d.get(m) & 0xff) == type && seq(d, at) == seq && uint24(d, m + 1) == body.length;
    }

    /**
     * Takes a fragment of this message (checked with {@link #isWellFormedFragment} and {@link #isPartOf}).
     *
     * @param d  the datagram
     * @param at the index of the fragment's record
     * @return true once the message is whole
     */
    boolean add(ByteBuffer d, int at) {
        int m = at + RECORD_HEADER;
        int offset = uint24(d, m + 6);
        int fragment = uint24(d, m + 9);
        d.duplicate().position(m + MESSAGE_HEADER).get(body, offset, fragment);
        have.set(offset, offset + fragment);
        return isWhole();
    }

    /** @return true once every byte of the message has come */
    boolean isWhole() {
        return have.nextClearBit(0) >= body.length;
    }

    /**
     * Rebuilds the whole message as one record.
     *
     * @param d  a datagram whose record at {@code at} gives the record header (type, version, epoch, sequence number)
     * @param at the index of that record
     * @return the record
     */
    byte[] record(ByteBuffer d, int at) {
        byte[] record = new byte[RECORD_HEADER + MESSAGE_HEADER + body.length];
        ByteBuffer r = ByteBuffer.wrap(record);
        r.put(d.duplicate().limit(at + RECORD_HEADER).position(at));
        r.putShort(RECORD_HEADER - 2, (short) (MESSAGE_HEADER + body.length));
        r.put(RECORD_HEADER, (byte) type);
        put24(r, RECORD_HEADER + 1, body.length);
        r.putShort(RECORD_HEADER + 4, (short) seq);
        put24(r, RECORD_HEADER + 6, 0);
        put24(r, RECORD_HEADER + 9, body.length);
        System.arraycopy(body, 0, record, RECORD_HEADER + MESSAGE_HEADER, body.length);
        return record;
    }

    static int uint24(ByteBuffer d, int at) {
        return (d.get(at) & 0xff) << 16 | (d.get(at + 1) & 0xff) << 8 | (d.get(at + 2) & 0xff);
    }

    static void put24(ByteBuffer b, int at, int v) {
        b.put(at, (byte) (v >>> 16));
        b.put(at + 1, (byte) (v >>> 8));
        b.put(at + 2, (byte) v);
    }
}

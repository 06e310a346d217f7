package io.streamproxy.protocol.dtls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The last flight of a DTLS 1.2 handshake, kept by the side that sent it so that it can be sent again. If that flight
 * is lost, the peer retransmits its own, and RFC 6347 4.2.4 asks the sender of the last flight to answer with it
 * again. The JDK's engine does not once its handshake is done: it sends its last flight twice at once and then never
 * again, so a peer that lost both copies stalls until its handshake times out. The driver answers instead, with the
 * datagrams kept here (resent as they were: the peer never took them, so it sees nothing replayed), at most once per
 * {@value #RESEND_GAP_MILLIS} ms, until the peer's first application record shows that its handshake is done.
 *
 * <p>While the handshake runs it records each flight this side sends: a flight starts with the first datagram sent
 * after one was received, and ends with the datagram that carries this side's Finished (the engine's own repeat of
 * the flight is not kept). Not thread-safe.
 */
final class FinalFlight {
    static final long RESEND_GAP_MILLIS = 500;
    private static final long RESEND_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(RESEND_GAP_MILLIS);

    private final List<byte[]> datagrams = new ArrayList<>(4);
    private boolean peerSpoke = true;
    private boolean hasFinished;
    private boolean resent;
    private long lastResend;

    /** The handshake received a datagram: what this side sends next starts a new flight. */
    void received() {
        peerSpoke = true;
    }

    /**
     * The handshake sent a datagram; it is kept as part of the current flight.
     *
     * @param datagram position to limit, not moved
     */
    void sent(ByteBuffer datagram) {
        if (peerSpoke) {
            datagrams.clear();
            hasFinished = false;
            peerSpoke = false;
        }
        if (hasFinished) {
            return; // the engine repeating the flight it just sent
        }
        byte[] copy = new byte[datagram.remaining()];
        datagram.duplicate().get(copy);
        datagrams.add(copy);
        hasFinished = carriesProtectedHandshake(datagram);
    }

    /** @return true if, as the handshake ended, the last flight was this side's (so it is worth keeping) */
    boolean isOurs() {
        return !peerSpoke && hasFinished;
    }

    /**
     * Tells whether a datagram that arrives after the handshake is the peer's flight again: its first record is a
     * handshake or ChangeCipherSpec record. Application data and alerts are not.
     *
     * @param datagram position to limit, not moved
     * @return true if it is
     */
    static boolean isRetransmittedFlight(ByteBuffer datagram) {
        if (datagram.remaining() < DtlsRecords.HEADER) {
            return false;
        }
        int type = DtlsRecords.type(datagram, datagram.position());
        return type == DtlsRecords.HANDSHAKE || type == DtlsRecords.CHANGE_CIPHER_SPEC;
    }

    /**
     * Sends the flight again, unless it was sent less than {@value #RESEND_GAP_MILLIS} ms ago (a peer's flight is
     * several datagrams; one answer is enough).
     *
     * @param output where datagrams go
     * @param now    {@link System#nanoTime()}
     * @throws IOException if sending failed
     */
    void resend(DtlsDriver.Output output, long now) throws IOException {
        if (resent && now - lastResend < RESEND_GAP_NANOS) {
            return;
        }
        resent = true;
        lastResend = now;
        for (byte[] d : datagrams) {
            output.transmit(ByteBuffer.wrap(d));
        }
    }

    /** Whether a datagram carries a handshake record of epoch 1 or later: this side's Finished. */
    private static boolean carriesProtectedHandshake(ByteBuffer d) {
        for (int at = d.position(), size; at < d.limit() && (size = DtlsRecords.recordSize(d, at, 0)) > 0;
             at += size) {
            if (DtlsRecords.type(d, at) == DtlsRecords.HANDSHAKE && !DtlsRecords.isClear(d, at)) {
                return true;
            }
        }
        return false;
    }
}

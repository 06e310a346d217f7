package io.streamproxy.protocol.dtls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Drives one DTLS 1.2 {@link SSLEngine} without doing I/O. The owner feeds each received datagram to
 * {@link #receive}, sends application datagrams with {@link #send}, calls {@link #onTimer} when
 * {@link #timerDeadline()} passes, and gets datagrams to transmit, application records and the end of the
 * connection through {@link Output}. Not thread-safe, with one exception: once the handshake is done, one thread
 * may {@link #send} while another {@link #receive}s, each with its own {@link DtlsScratch} (the engine serialises
 * its own state).
 *
 * <p>What it handles, per the JDK's DTLS behaviour: handshake flights are cut for the configured path MTU while the
 * session accepts and sends records up to the 16 KiB plaintext limit (one datagram, one record); several records in
 * one datagram (peers that pack a flight) are all processed; lost flights are resent with back-off from 1 s;
 * {@code NEED_UNWRAP_AGAIN}, and {@code NEED_WRAP} after the handshake (a peer repeating its last flight), are
 * answered; what the peer sends during the handshake reaches the engine whole and in order
 * ({@link HandshakeReassembly}), and its application records (the peer finished first) once the handshake is done;
 * the side that sent the last flight sends it again when the peer repeats its own ({@link FinalFlight}); a fatal
 * error is followed by one more wrap so that the alert reaches the peer.
 */
public final class DtlsDriver {
    /** The largest application datagram a record carries. */
    public static final int MAX_DATAGRAM = 16384;

    private static final long FIRST_RETRANSMIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long MAX_RETRANSMIT_NANOS = TimeUnit.SECONDS.toNanos(8);
    private static final int MAX_STEPS = 64;
    /** The most application data held while the handshake finishes: a header and a datagram or two. */
    private static final int MAX_HELD_APPLICATION_BYTES = 2 * (MAX_DATAGRAM + 256);
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    /** Where the driver's results go. Called on the caller's thread, inside driver calls. */
    public interface Output {
        /**
         * Transmit one datagram to the peer (a handshake flight part, a record, an alert).
         *
         * @param datagram the bytes; only valid during the call
         * @throws IOException if sending failed (the driver passes it on)
         */
        void transmit(ByteBuffer datagram) throws IOException;

        /**
         * One application record arrived.
         *
         * @param plaintext the record's data; only valid during the call
         * @throws IOException if handling it failed (the driver passes it on)
         */
        void record(ByteBuffer plaintext) throws IOException;

        /** The handshake completed; application data may now be sent. */
        default void handshakeFinished() {
        }
    }

    private final SSLEngine engine;
    private final Output output;
    private final int defaultPacketSize;
    private long droppedRecords;
    private boolean begun;
    private volatile boolean handshakeDone;
    private volatile boolean closed;
    private long timerDeadline = Long.MAX_VALUE;
    private long retransmitInterval = FIRST_RETRANSMIT_NANOS;
    private FinalFlight finalFlight = new FinalFlight();
    private HandshakeReassembly reassembly;
    private List<byte[]> heldApplication;
    private int heldApplicationBytes;
    private int handshakeDatagrams;
    private int retransmissions;
    private long handshakeStart;
    private long firstFromPeer;
    private long lastFromPeer;

    /**
     * Wraps an engine already set to client or server mode and DTLS 1.2, and sizes its handshake flights for a path
     * MTU without lowering the record size the session accepts: the engine is set to the MTU and then to 0 before
     * the handshake (0 keeps the flights at the MTU while the session accepts records up to the default 16717
     * bytes), and back to the default after it, so that one datagram is one record.
     *
     * @param engine the engine, before its handshake
     * @param mtu    the path MTU handshake flights must fit
     * @param output where results go
     */
    public DtlsDriver(SSLEngine engine, int mtu, Output output) {
        this.engine = engine;
        this.output = output;
        SSLParameters p = engine.getSSLParameters();
        this.defaultPacketSize = p.getMaximumPacketSize();
        p.setMaximumPacketSize(mtu);
        engine.setSSLParameters(p);
        // a zero keeps the outgoing flights at the MTU while the session takes the engine's default
        // incoming limit; without it a peer's full-size record fails with "Input record too big"
        p = engine.getSSLParameters();
        p.setMaximumPacketSize(0);
        engine.setSSLParameters(p);
        this.reassembly = new HandshakeReassembly(engine.getUseClientMode());
    }

    /** @return the engine */
    public SSLEngine engine() {
        return engine;
    }

    /**
     * Says where the handshake stands, for the message of a handshake that timed out: datagrams from the peer,
     * retransmissions of ours, the engine's status, and what of the peer's flight has come.
     *
     * @return a description
     */
    public String handshakeState() {
        HandshakeReassembly r = reassembly;
        return handshakeDatagrams + " datagrams from the peer" + (handshakeDatagrams == 0 ? ""
                : " (the first after " + TimeUnit.NANOSECONDS.toMillis(firstFromPeer - handshakeStart)
                + " ms, the last after " + TimeUnit.NANOSECONDS.toMillis(lastFromPeer - handshakeStart) + " ms)")
                + ", " + retransmissions + " retransmissions of ours, engine " + engine.getHandshakeStatus()
                + (r != null ? ", " + r.state() : "");
    }

    /** @return true once the handshake has completed */
    public boolean isHandshakeDone() {
        return handshakeDone;
    }

    /**
     * Tells whether the connection has ended: close_notify either way, a fatal error, or (a client) an alert in the
     * clear from a server that does not know the session ({@link DtlsRecords#answerUnknownSession}).
     *
     * @return true once it has
     */
    public boolean isClosed() {
        return closed;
    }

    /** @return true if the peer sent close_notify */
    public boolean isInboundDone() {
        return engine.isInboundDone();
    }

    /**
     * Returns when {@link #onTimer} should be called next (a retransmission during the handshake), in
     * {@link System#nanoTime()} terms.
     *
     * @return the deadline, or {@link Long#MAX_VALUE} for none
     */
    public long timerDeadline() {
        return timerDeadline;
    }

    /**
     * Starts the handshake; a client transmits its ClientHello now. A server need not call it: its first
     * {@link #receive} starts the handshake.
     *
     * @param scratch working buffers
     * @param now     {@link System#nanoTime()}
     * @throws IOException if the engine or the output fails
     */
    public void begin(DtlsScratch scratch, long now) throws IOException {
        begun = true;
        handshakeStart = now;
        engine.beginHandshake();
        step(null, scratch, now);
    }

    /**
     * Feeds one received datagram (one or more records).
     *
     * @param datagram the datagram; consumed
     * @param scratch  working buffers
     * @param now      {@link System#nanoTime()}
     * @throws IOException if the engine fails (the alert is sent first) or the output fails
     */
    public void receive(ByteBuffer datagram, DtlsScratch scratch, long now) throws IOException {
        if (closed) {
            datagram.position(datagram.limit());
            return;
        }
        if (!begun) {
            handshakeStart = now;
            begun = true; // a server starts with the client's first datagram
            engine.beginHandshake();
        }
        ByteBuffer in = datagram;
        if (datagram.isDirect() && datagram.remaining() <= scratch.in.capacity()) {
            // the engine decrypts in place, and on a direct buffer the JDK's AES-GCM runs without its intrinsics
            in = scratch.in;
            in.clear();
            in.put(datagram).flip();
        }
        if (!handshakeDone) {
            receiveInHandshake(in, scratch, now);
        } else if (DtlsRecords.isClearAlert(in) && engine.getUseClientMode()) {
            // the server does not know this session (DtlsRecords.answerUnknownSession): it is over
            closed = true;
            timerDeadline = Long.MAX_VALUE;
            in.position(in.limit());
        } else if (finalFlight != null && FinalFlight.isRetransmittedFlight(in)) {
            finalFlight.resend(output, now); // the peer lost our last flight; the engine would not answer
            in.position(in.limit());
        } else {
            step(in, scratch, now);
        }
    }

    /**
     * A datagram while the handshake runs: its handshake records go through {@link HandshakeReassembly}; its
     * application records (the peer finished first and sent its header, which the engine would drop) are held until
     * the handshake is done.
     */
    private void receiveInHandshake(ByteBuffer datagram, DtlsScratch scratch, long now) throws IOException {
        if (handshakeDatagrams++ == 0) {
            firstFromPeer = now;
        }
        lastFromPeer = now;
        if (finalFlight != null) {
            finalFlight.received();
        }
        ByteBuffer in = reassembly.take(datagram);
        int end = in.limit();
        int application = DtlsRecords.firstApplicationRecord(in);
        if (application >= 0) {
            in.limit(application);
        }
        if (in.hasRemaining()) {
            step(in, scratch, now);
        }
        if (application >= 0 && !closed) {
            in.limit(end).position(application);
            if (handshakeDone) {
                step(in, scratch, now);
            } else {
                holdApplication(in);
            }
        }
        in.limit(end).position(end);
        if (handshakeDone && heldApplication != null) {
            List<byte[]> held = heldApplication;
            heldApplication = null;
            for (byte[] records : held) {
                if (!closed) {
                    step(ByteBuffer.wrap(records), scratch, now);
                }
            }
        }
    }

    /**
     * Keeps application records that came before the handshake finished, within
     * {@value #MAX_HELD_APPLICATION_BYTES} bytes.
     */
    private void holdApplication(ByteBuffer records) {
        if (heldApplication == null) {
            heldApplication = new ArrayList<>(2);
        }
        if (heldApplicationBytes + records.remaining() > MAX_HELD_APPLICATION_BYTES) {
            droppedRecords++;
            return;
        }
        byte[] copy = new byte[records.remaining()];
        records.get(copy);
        heldApplicationBytes += copy.length;
        heldApplication.add(copy);
    }

    /**
     * Sends one application datagram as one record.
     *
     * @param datagram at most {@value #MAX_DATAGRAM} bytes; consumed
     * @param scratch  working buffers
     * @throws IOException if the handshake is not done, the datagram is too large, or sending fails
     */
    public void send(ByteBuffer datagram, DtlsScratch scratch) throws IOException {
        if (closed) {
            throw new IOException("DTLS connection is closed");
        }
        if (!handshakeDone) {
            throw new IOException("DTLS handshake has not completed");
        }
        if (datagram.remaining() > MAX_DATAGRAM) {
            throw new IOException("datagram of " + datagram.remaining() + " bytes is over the DTLS record limit of "
                    + MAX_DATAGRAM);
        }
        ByteBuffer net = scratch.net;
        net.clear();
        SSLEngineResult r;
        try {
            r = engine.wrap(datagram, net);
        } catch (SSLException e) {
            fail(scratch);
            throw e;
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
            closed = true;
            throw new IOException("DTLS connection is closed");
        }
        if (r.getStatus() != SSLEngineResult.Status.OK) {
            throw new IOException("DTLS wrap failed: " + r.getStatus());
        }
        net.flip();
        if (net.hasRemaining()) {
            output.transmit(net);
        }
    }

    /**
     * Retransmits the last flight if the handshake is waiting for the peer and the deadline has passed, backing
     * off for the next time.
     *
     * @param scratch working buffers
     * @param now     {@link System#nanoTime()}
     * @throws IOException if the engine or the output fails
     */
    public void onTimer(DtlsScratch scratch, long now) throws IOException {
        if (closed || now < timerDeadline) {
            return;
        }
        if (engine.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING) {
            timerDeadline = Long.MAX_VALUE;
            return;
        }
        retransmitInterval = Math.min(retransmitInterval * 2, MAX_RETRANSMIT_NANOS);
        timerDeadline = now + retransmitInterval;
        retransmissions++;
        if (reassembly != null) {
            reassembly.retransmitted();
        }
        ByteBuffer net = scratch.net;
        for (int i = 0; i < MAX_STEPS; i++) {
            net.clear();
            SSLEngineResult r;
            HandshakeStatus hs;
            try {
                r = wrap(EMPTY, net);
                net.flip();
                if (net.hasRemaining()) {
                    output.transmit(net);
                }
                hs = runTasks(r.getHandshakeStatus());
            } catch (SSLException e) {
                fail(scratch);
                throw e;
            }
            if (hs != HandshakeStatus.NEED_WRAP) {
                break;
            }
        }
    }

    /**
     * Sends close_notify (once) and marks the connection closed.
     *
     * @param scratch working buffers
     */
    public void close(DtlsScratch scratch) {
        if (closed) {
            return;
        }
        closed = true;
        timerDeadline = Long.MAX_VALUE;
        finalFlight = null;
        heldApplication = null;
        engine.closeOutbound();
        flushOutbound(scratch);
    }

    private void fail(DtlsScratch scratch) {
        closed = true;
        timerDeadline = Long.MAX_VALUE;
        // one more wrap so that the fatal alert the engine has queued reaches the peer
        flushOutbound(scratch);
    }

    private void flushOutbound(DtlsScratch scratch) {
        ByteBuffer net = scratch.net;
        for (int i = 0; i < 4 && !engine.isOutboundDone(); i++) {
            net.clear();
            try {
                engine.wrap(EMPTY, net);
                net.flip();
                if (net.hasRemaining()) {
                    output.transmit(net);
                }
            } catch (IOException | RuntimeException e) {
                return;
            }
        }
    }

    private void step(ByteBuffer in, DtlsScratch scratch, long now) throws IOException {
        try {
            doStep(in, scratch, now);
        } catch (SSLException e) {
            if (handshakeDone && in != null && !engine.isInboundDone() && !engine.isOutboundDone()) {
                // RFC 6347 4.1.2.7: a record that does not decode is dropped, it does not end the connection
                droppedRecords++;
                in.position(in.limit());
                return;
            }
            fail(scratch);
            throw e;
        }
    }

    /**
     * Returns how many received records (or rests of datagrams) were dropped after the handshake because they did
     * not decode: forged, truncated, oversized or beyond the per-datagram budget.
     *
     * @return the count
     */
    public long droppedRecords() {
        return droppedRecords;
    }

    /** After the handshake, a record whose header is truncated or claims more than a record can hold is dropped. */
    private static boolean wellFramed(ByteBuffer in) {
        return DtlsRecords.recordSize(in, in.position(), 0) > 0;
    }

    private void doStep(ByteBuffer in, DtlsScratch scratch, long now) throws IOException {
        ByteBuffer net = scratch.net;
        ByteBuffer app = scratch.app;
        boolean sentFlight = false;
        for (int steps = 0; steps < MAX_STEPS * 4; steps++) {
            HandshakeStatus hs = engine.getHandshakeStatus();
            switch (hs) {
                case NEED_WRAP: {
                    net.clear();
                    SSLEngineResult r = wrap(EMPTY, net);
                    net.flip();
                    if (net.hasRemaining()) {
                        if (finalFlight != null && !handshakeDone) {
                            finalFlight.sent(net);
                        }
                        if (reassembly != null) {
                            reassembly.flightSent();
                        }
                        output.transmit(net);
                        sentFlight = true;
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED || engine.isOutboundDone()) {
                        closed = true;
                        timerDeadline = Long.MAX_VALUE;
                        return;
                    }
                    afterHandshakeStep(r.getHandshakeStatus());
                    break;
                }
                case NEED_UNWRAP_AGAIN: {
                    app.clear();
                    SSLEngineResult r = unwrap(EMPTY, app);
                    deliver(r, app);
                    afterHandshakeStep(r.getHandshakeStatus());
                    break;
                }
                case NEED_TASK:
                    runTasks(hs);
                    break;
                case NEED_UNWRAP:
                    if (in == null || !in.hasRemaining()) {
                        if (sentFlight || timerDeadline == Long.MAX_VALUE) {
                            retransmitInterval = FIRST_RETRANSMIT_NANOS;
                            timerDeadline = now + retransmitInterval;
                        }
                        return;
                    }
                    if (!unwrapOne(in, scratch)) {
                        return;
                    }
                    break;
                default: // NOT_HANDSHAKING or FINISHED
                    if (!handshakeDone && hs == HandshakeStatus.NOT_HANDSHAKING) {
                        finishHandshake();
                    }
                    if (in == null || !in.hasRemaining() || closed) {
                        return;
                    }
                    if (!unwrapOne(in, scratch)) {
                        return;
                    }
            }
        }
        if (handshakeDone && in != null) {
            droppedRecords++; // more records than one datagram may carry: drop the rest
            in.position(in.limit());
            return;
        }
        throw new SSLException("DTLS engine made no progress");
    }

    /** Unwraps one record; false when nothing more can be read from {@code in}. */
    private boolean unwrapOne(ByteBuffer in, DtlsScratch scratch) throws IOException {
        ByteBuffer app = scratch.app;
        app.clear();
        if (handshakeDone && !wellFramed(in)) {
            droppedRecords++;
            in.position(in.limit());
            return false;
        }
        int before = in.position();
        SSLEngineResult r = unwrap(in, app);
        deliver(r, app);
        switch (r.getStatus()) {
            case BUFFER_UNDERFLOW:
                in.position(in.limit()); // a truncated record: DTLS drops it
                return false;
            case CLOSED:
                if (engine.isInboundDone()) {
                    close(scratch); // answer the peer's close_notify with ours
                    in.position(in.limit());
                    return false;
                }
                return in.hasRemaining();
            default:
                afterHandshakeStep(r.getHandshakeStatus());
                if (in.position() == before && r.getHandshakeStatus() == HandshakeStatus.NEED_UNWRAP) {
                    in.position(in.limit()); // nothing consumed: drop what is left
                    return false;
                }
                return true;
        }
    }

    private void deliver(SSLEngineResult r, ByteBuffer app) throws IOException {
        if (r.bytesProduced() > 0) {
            app.flip();
            if (!handshakeDone && engine.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING) {
                finishHandshake();
            }
            if (handshakeDone) {
                finalFlight = null; // the peer's handshake is done too
            }
            output.record(app);
        }
    }

    private void afterHandshakeStep(HandshakeStatus hs) {
        if (hs == HandshakeStatus.FINISHED) {
            finishHandshake();
        }
    }

    private void finishHandshake() {
        if (handshakeDone) {
            return;
        }
        handshakeDone = true;
        reassembly = null;
        if (finalFlight != null && !finalFlight.isOurs()) {
            finalFlight = null;
        }
        timerDeadline = Long.MAX_VALUE;
        // one datagram, one record: lift the outgoing size from the MTU back to the engine's default
        SSLParameters p = engine.getSSLParameters();
        p.setMaximumPacketSize(defaultPacketSize);
        engine.setSSLParameters(p);
        output.handshakeFinished();
    }

    private HandshakeStatus runTasks(HandshakeStatus hs) throws SSLException {
        if (hs == HandshakeStatus.NEED_TASK) {
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    throw engineFailed("a delegated task", e);
                }
            }
            return engine.getHandshakeStatus();
        }
        return hs;
    }

    private SSLEngineResult wrap(ByteBuffer src, ByteBuffer net) throws SSLException {
        try {
            return engine.wrap(src, net);
        } catch (RuntimeException e) {
            throw engineFailed("wrap", e);
        }
    }

    private SSLEngineResult unwrap(ByteBuffer in, ByteBuffer app) throws SSLException {
        try {
            return engine.unwrap(in, app);
        } catch (RuntimeException e) {
            throw engineFailed("unwrap", e);
        }
    }

    /**
     * The engine threw an unchecked exception on what the peer sent: the JDK 17 DTLS server engine, for one, throws
     * a ClassCastException from its delegated task on a HelloRequest from a client (found by fuzzing). That is a
     * bad handshake message or record like any other, so it is reported as one, an SSLException, and handled as
     * such (a failed handshake; after the handshake, a dropped record), never as a failure of the server.
     */
    private static SSLException engineFailed(String where, RuntimeException e) {
        return new SSLException("the DTLS engine failed in " + where + " on what the peer sent: " + e, e);
    }
}

package io.streamproxy.protocol.dtls;

import java.nio.ByteBuffer;

/**
 * The working buffers of {@link DtlsDriver} calls, sized for the largest DTLS record. One scratch serves any
 * number of drivers used from one thread at a time (an event loop keeps one for all its sessions), so sessions
 * carry no buffers of their own and nothing is allocated per datagram.
 */
public final class DtlsScratch {
    /** Room for the largest record an engine writes or reads (16 KiB plaintext plus expansion), rounded up. */
    public static final int BUFFER_SIZE = 64 * 1024;

    // heap, not direct: the JDK's engine encrypts and decrypts in place, and on a direct buffer its AES-GCM leaves
    // the intrinsics (GHASH.processBlocks runs as Java code, JFR shows it as half the relay's time)
    final ByteBuffer net = ByteBuffer.allocate(BUFFER_SIZE);
    final ByteBuffer app = ByteBuffer.allocate(BUFFER_SIZE);
    /** A received datagram that came in a direct buffer, copied for the engine. */
    final ByteBuffer in = ByteBuffer.allocate(BUFFER_SIZE);

    /** Creates a scratch (three 64 KiB heap buffers). */
    public DtlsScratch() {
    }
}

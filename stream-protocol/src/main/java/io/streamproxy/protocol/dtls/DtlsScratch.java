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

    final ByteBuffer net = ByteBuffer.allocateDirect(BUFFER_SIZE);
    final ByteBuffer app = ByteBuffer.allocateDirect(BUFFER_SIZE);

    /** Creates a scratch (two 64 KiB direct buffers). */
    public DtlsScratch() {
    }
}

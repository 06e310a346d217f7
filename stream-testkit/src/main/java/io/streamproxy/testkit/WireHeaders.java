package io.streamproxy.testkit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Headers built byte by byte from the protocol's header layout (version, host, port, flags, CRC-32), independently of {@code HeaderCodec}, so that the kits test the
 * servers against the specification rather than against the code under test; and with knobs to break each check.
 */
public final class WireHeaders {
    private WireHeaders() {
    }

    /**
     * Builds a header with raw fields and an optional wrong version or checksum.
     *
     * @param version     the 8 version bytes
     * @param host        host bytes (at most 255)
     * @param portLength  the port length byte as sent (may lie)
     * @param port        port bytes (at most 5)
     * @param flags       the flag byte
     * @param corruptCrc  whether to flip a checksum bit
     * @return 275 bytes
     */
    public static byte[] build(byte[] version, byte[] host, int portLength, byte[] port, int flags,
                               boolean corruptCrc) {
        ByteBuffer b = ByteBuffer.allocate(275);
        b.put(version, 0, 8);
        b.put((byte) host.length);
        b.put(host);
        b.position(264);
        b.put((byte) portLength);
        b.put(port);
        b.position(270);
        b.put((byte) flags);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, 271);
        int value = (int) crc.getValue();
        b.putInt(corruptCrc ? value ^ 0x00010000 : value);
        return b.array();
    }

    /**
     * Builds a valid header for host and port.
     *
     * @param host  the host, without brackets
     * @param port  the port text
     * @param flags the flag byte
     * @return 275 bytes
     */
    public static byte[] valid(String host, String port, int flags) {
        byte[] p = port.getBytes(StandardCharsets.US_ASCII);
        return build(version(), host.getBytes(StandardCharsets.UTF_8), p.length, p, flags, false);
    }

    /** @return the version field {@code 0.1.0\0\0\0} */
    public static byte[] version() {
        return new byte[] {'0', '.', '1', '.', '0', 0, 0, 0};
    }
}

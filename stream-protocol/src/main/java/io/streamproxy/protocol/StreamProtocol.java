package io.streamproxy.protocol;

import java.nio.charset.StandardCharsets;

/**
 * The constants of the stream protocol, as GoDoxy's agent fixes them: the ALPN id, the header size and layout, the
 * version field and the flag bits.
 */
public final class StreamProtocol {
    /** The ALPN protocol id a stream tunnel negotiates on TLS. */
    public static final String ALPN = "godoxy-agent-stream/1";
    /** The header size in bytes. */
    public static final int HEADER_SIZE = 275;
    /** The version field: ASCII {@code 0.1.0} and three NUL bytes. */
    private static final byte[] VERSION = "0.1.0\0\0\0".getBytes(StandardCharsets.US_ASCII);
    /** The size of the version field. */
    public static final int VERSION_SIZE = 8;
    /** The size of the host field. */
    public static final int HOST_SIZE = 255;
    /** The size of the port field. */
    public static final int PORT_SIZE = 5;
    /** Flag bit 0: close immediately after validating the header (health probe). */
    public static final int FLAG_CLOSE_IMMEDIATELY = 1;

    static final int OFFSET_HOST_LENGTH = 8;
    static final int OFFSET_HOST = 9;
    static final int OFFSET_PORT_LENGTH = 264;
    static final int OFFSET_PORT = 265;
    static final int OFFSET_FLAGS = 270;
    static final int OFFSET_CHECKSUM = 271;

    private StreamProtocol() {
    }

    /**
     * Returns a copy of the 8-byte version field.
     *
     * @return {@code 30 2e 31 2e 30 00 00 00}
     */
    public static byte[] version() {
        return VERSION.clone();
    }

    static byte versionByte(int i) {
        return VERSION[i];
    }
}

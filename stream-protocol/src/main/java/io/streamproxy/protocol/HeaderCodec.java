package io.streamproxy.protocol;

import io.streamproxy.Destination;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Encodes and decodes the 275-byte header exactly as GoDoxy's agent does: version, host length and NUL-padded host,
 * port length and NUL-padded port text, flags, and a big-endian CRC-32 (IEEE) of bytes 0..270.
 */
public final class HeaderCodec {
    private static final byte[] HEALTH_PROBE = encode("", "", StreamProtocol.FLAG_CLOSE_IMMEDIATELY);

    private HeaderCodec() {
    }

    /**
     * Encodes a header for a destination, with no flags.
     *
     * @param destination the destination
     * @return 275 bytes
     */
    public static byte[] encode(Destination destination) {
        return encode(destination.host(), Integer.toString(destination.port()), 0);
    }

    /**
     * Encodes a header from its raw fields, as the Go agent's {@code NewStreamRequestHeader} does.
     *
     * @param host  the host text (IPv6 without brackets), at most 255 UTF-8 bytes
     * @param port  the port text, at most 5 bytes
     * @param flags the flag byte (only bit 0 is defined; reserved bits go out as given)
     * @return 275 bytes
     * @throws IllegalArgumentException if host or port is too long, or flags is outside 0..255
     */
    public static byte[] encode(String host, String port, int flags) {
        byte[] out = new byte[StreamProtocol.HEADER_SIZE];
        encode(host, port, flags, ByteBuffer.wrap(out));
        return out;
    }

    /**
     * Encodes a header into a buffer, at its position, advancing it by 275.
     *
     * @param host  the host text, at most 255 UTF-8 bytes
     * @param port  the port text, at most 5 bytes
     * @param flags the flag byte
     * @param out   a buffer with at least 275 bytes remaining
     * @throws IllegalArgumentException if host or port is too long, or flags is outside 0..255
     */
    public static void encode(String host, String port, int flags, ByteBuffer out) {
        byte[] h = host.getBytes(StandardCharsets.UTF_8);
        byte[] p = port.getBytes(StandardCharsets.UTF_8);
        if (h.length > StreamProtocol.HOST_SIZE) {
            throw new IllegalArgumentException("host is " + h.length + " bytes, the header holds at most "
                    + StreamProtocol.HOST_SIZE);
        }
        if (p.length > StreamProtocol.PORT_SIZE) {
            throw new IllegalArgumentException("port '" + port + "' is " + p.length
                    + " bytes, the header holds at most " + StreamProtocol.PORT_SIZE);
        }
        if (flags < 0 || flags > 255) {
            throw new IllegalArgumentException("flags " + flags + " is outside 0..255");
        }
        byte[] b = new byte[StreamProtocol.HEADER_SIZE];
        for (int i = 0; i < StreamProtocol.VERSION_SIZE; i++) {
            b[i] = StreamProtocol.versionByte(i);
        }
        b[StreamProtocol.OFFSET_HOST_LENGTH] = (byte) h.length;
        System.arraycopy(h, 0, b, StreamProtocol.OFFSET_HOST, h.length);
        b[StreamProtocol.OFFSET_PORT_LENGTH] = (byte) p.length;
        System.arraycopy(p, 0, b, StreamProtocol.OFFSET_PORT, p.length);
        b[StreamProtocol.OFFSET_FLAGS] = (byte) flags;
        int crc = checksum(b);
        b[StreamProtocol.OFFSET_CHECKSUM] = (byte) (crc >>> 24);
        b[StreamProtocol.OFFSET_CHECKSUM + 1] = (byte) (crc >>> 16);
        b[StreamProtocol.OFFSET_CHECKSUM + 2] = (byte) (crc >>> 8);
        b[StreamProtocol.OFFSET_CHECKSUM + 3] = (byte) crc;
        out.put(b);
    }

    /**
     * Returns the health-probe header: empty host and port, flag bit 0 set.
     *
     * @return 275 bytes (a fresh copy)
     */
    public static byte[] healthProbe() {
        return HEALTH_PROBE.clone();
    }

    /**
     * Decodes and validates a header.
     *
     * @param bytes  the array
     * @param offset where the header starts
     * @param length how many bytes were received; anything but 275 fails the size check
     * @return the header
     * @throws InvalidHeaderException naming the first check that failed
     */
    public static StreamHeader decode(byte[] bytes, int offset, int length) throws InvalidHeaderException {
        return decode(ByteBuffer.wrap(bytes, offset, length));
    }

    /**
     * Decodes and validates the header in a buffer's remaining bytes, without moving its position.
     *
     * @param buffer a buffer whose remaining bytes are the received header
     * @return the header
     * @throws InvalidHeaderException naming the first check that failed
     */
    public static StreamHeader decode(ByteBuffer buffer) throws InvalidHeaderException {
        if (buffer.remaining() != StreamProtocol.HEADER_SIZE) {
            throw new InvalidHeaderException(InvalidHeaderException.Check.SIZE,
                    "header is " + buffer.remaining() + " bytes, expected " + StreamProtocol.HEADER_SIZE);
        }
        byte[] b = new byte[StreamProtocol.HEADER_SIZE];
        buffer.duplicate().get(b);
        for (int i = 0; i < StreamProtocol.VERSION_SIZE; i++) {
            if (b[i] != StreamProtocol.versionByte(i)) {
                throw new InvalidHeaderException(InvalidHeaderException.Check.VERSION,
                        "unsupported header version " + printable(b, 0, StreamProtocol.VERSION_SIZE));
            }
        }
        int portLength = b[StreamProtocol.OFFSET_PORT_LENGTH] & 0xff;
        if (portLength > StreamProtocol.PORT_SIZE) {
            throw new InvalidHeaderException(InvalidHeaderException.Check.PORT_LENGTH,
                    "port length " + portLength + " is over " + StreamProtocol.PORT_SIZE);
        }
        int expected = checksum(b);
        int actual = ((b[StreamProtocol.OFFSET_CHECKSUM] & 0xff) << 24)
                | ((b[StreamProtocol.OFFSET_CHECKSUM + 1] & 0xff) << 16)
                | ((b[StreamProtocol.OFFSET_CHECKSUM + 2] & 0xff) << 8)
                | (b[StreamProtocol.OFFSET_CHECKSUM + 3] & 0xff);
        if (expected != actual) {
            throw new InvalidHeaderException(InvalidHeaderException.Check.CHECKSUM,
                    String.format("header checksum %08X does not match computed %08X", actual, expected));
        }
        int hostLength = b[StreamProtocol.OFFSET_HOST_LENGTH] & 0xff;
        String host = new String(b, StreamProtocol.OFFSET_HOST, hostLength, StandardCharsets.UTF_8);
        String port = new String(b, StreamProtocol.OFFSET_PORT, portLength, StandardCharsets.UTF_8);
        int flags = b[StreamProtocol.OFFSET_FLAGS] & 0xff;
        StreamHeader header = new StreamHeader(host, port, flags);
        if (!header.isHealthProbe()) {
            parsePort(port);
        }
        return header;
    }

    /**
     * Parses port text as a decimal number in 1..65535.
     *
     * @param port the text
     * @return the port
     * @throws InvalidHeaderException with check {@link InvalidHeaderException.Check#PORT_NUMBER} otherwise
     */
    static int parsePort(String port) throws InvalidHeaderException {
        int value = 0;
        if (port.isEmpty()) {
            throw new InvalidHeaderException(InvalidHeaderException.Check.PORT_NUMBER, "port is empty");
        }
        for (int i = 0; i < port.length(); i++) {
            char c = port.charAt(i);
            if (c < '0' || c > '9') {
                throw new InvalidHeaderException(InvalidHeaderException.Check.PORT_NUMBER,
                        "port '" + printable(port) + "' is not a decimal number");
            }
            value = value * 10 + (c - '0');
        }
        if (value < 1 || value > 65535) {
            throw new InvalidHeaderException(InvalidHeaderException.Check.PORT_NUMBER,
                    "port " + value + " is outside 1..65535");
        }
        return value;
    }

    private static int checksum(byte[] header) {
        CRC32 crc = new CRC32();
        crc.update(header, 0, StreamProtocol.OFFSET_CHECKSUM);
        return (int) crc.getValue();
    }

    private static String printable(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder();
        for (int i = off; i < off + len; i++) {
            sb.append(String.format("%02x", b[i] & 0xff));
        }
        return sb.toString();
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return sb.toString();
    }
}

package io.streamproxy.protocol;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The PROXY protocol version 2 header (HAProxy's {@code proxy-protocol.txt}, section 2.2) a server can send to the
 * destination before any payload (UDP: before every datagram): command PROXY, TCP or UDP over IPv4 or IPv6 (an IPv4 address beside an IPv6 one is
 * written as {@code ::ffff:a.b.c.d}), the source and destination addresses and ports, and, when the client's
 * certificate has a common name, a {@code PP2_TYPE_SSL} TLV saying the client connected over TLS with a verified
 * certificate, with the CN in its {@code PP2_SUBTYPE_SSL_CN} sub-TLV.
 */
public final class ProxyHeaderV2 {
    /** The 12-byte signature every version 2 header starts with. */
    static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    static final int PP2_TYPE_SSL = 0x20;
    static final int PP2_SUBTYPE_SSL_CN = 0x22;
    static final int PP2_CLIENT_SSL = 0x01;
    static final int PP2_CLIENT_CERT_CONN = 0x02;
    /** The longest CN carried (an X.509 CN is at most 64 characters; longer ones are cut). */
    static final int MAX_CN_BYTES = 255;

    private ProxyHeaderV2() {
    }

    /**
     * Encodes a header.
     *
     * @param source      the tunnel's client
     * @param destination the server's local address the client connected to
     * @param commonName  the client certificate's CN, or null for no TLV
     * @return the header bytes
     */
    public static byte[] encode(InetSocketAddress source, InetSocketAddress destination, String commonName) {
        return encode(source, destination, commonName, false);
    }

    /**
     * Encodes a header for a stream (TCP) or datagram (UDP, address families {@code 0x12} and {@code 0x22}) session.
     *
     * @param source      the tunnel's client
     * @param destination the server's local address
     * @param commonName  the client certificate's CN, or null for no TLV
     * @param udp         true for a UDP session
     * @return the header bytes
     */
    public static byte[] encode(InetSocketAddress source, InetSocketAddress destination, String commonName,
                                boolean udp) {
        InetAddress src = source.getAddress();
        InetAddress dst = destination.getAddress();
        boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
        byte[] s = v4 ? src.getAddress() : sixteen(src);
        byte[] d = v4 ? dst.getAddress() : sixteen(dst);
        byte[] cn = commonName == null ? null : cut(commonName.getBytes(StandardCharsets.UTF_8));
        int tlv = cn == null ? 0 : 3 + 1 + 4 + 3 + cn.length;
        int length = s.length + d.length + 4 + tlv;
        ByteBuffer b = ByteBuffer.allocate(16 + length);
        b.put(SIGNATURE).put((byte) 0x21).put((byte) ((v4 ? 0x10 : 0x20) | (udp ? 0x02 : 0x01)))
                .putShort((short) length);
        b.put(s).put(d).putShort((short) source.getPort()).putShort((short) destination.getPort());
        if (cn != null) {
            b.put((byte) PP2_TYPE_SSL).putShort((short) (1 + 4 + 3 + cn.length));
            b.put((byte) (PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN)).putInt(0); // verify 0: the certificate was verified
            b.put((byte) PP2_SUBTYPE_SSL_CN).putShort((short) cn.length).put(cn);
        }
        return b.array();
    }

    private static byte[] sixteen(InetAddress a) {
        if (a instanceof Inet6Address) {
            return a.getAddress();
        }
        byte[] v4 = a.getAddress();
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(v4, 0, mapped, 12, 4);
        return mapped;
    }

    private static byte[] cut(byte[] cn) {
        if (cn.length <= MAX_CN_BYTES) {
            return cn;
        }
        byte[] out = new byte[MAX_CN_BYTES];
        System.arraycopy(cn, 0, out, 0, MAX_CN_BYTES);
        return out;
    }
}

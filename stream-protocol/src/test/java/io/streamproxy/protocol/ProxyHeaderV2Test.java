package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The PROXY protocol v2 header, byte for byte as HAProxy's proxy-protocol.txt lays it out. */
class ProxyHeaderV2Test {
    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Test
    void ipv4_withCommonName() {
        byte[] h = ProxyHeaderV2.encode(new InetSocketAddress("192.0.2.10", 51000),
                new InetSocketAddress("198.51.100.1", 8890), "billing");
        assertThat(hex(h)).isEqualTo("0d0a0d0a000d0a515549540a" // signature
                + "21" + "11" + "001e"                           // v2 PROXY, TCP over IPv4, 30 bytes follow
                + "c000020a" + "c6336401" + "c738" + "22ba"     // addresses and ports
                + "20" + "000f" + "03" + "00000000"              // PP2_TYPE_SSL: SSL + cert on this connection, verified
                + "22" + "0007" + "62696c6c696e67");             // PP2_SUBTYPE_SSL_CN "billing"
    }

    @Test
    void ipv6_andMixedFamilies_areWrittenAsIpv6_withoutATlvWhenThereIsNoCn() {
        byte[] h = ProxyHeaderV2.encode(new InetSocketAddress("::1", 1), new InetSocketAddress("127.0.0.1", 2), null);
        assertThat(hex(h)).isEqualTo("0d0a0d0a000d0a515549540a" + "21" + "21" + "0024"
                + "00000000000000000000000000000001" + "00000000000000000000ffff7f000001" + "0001" + "0002");
    }

    @Test
    void udp_isAddressFamily0x12Or0x22() {
        byte[] v4 = ProxyHeaderV2.encode(new InetSocketAddress("10.0.0.1", 5353), new InetSocketAddress("10.0.0.2", 53),
                null, true);
        assertThat(hex(v4)).isEqualTo("0d0a0d0a000d0a515549540a" + "21" + "12" + "000c"
                + "0a000001" + "0a000002" + "14e9" + "0035");
        byte[] v6 = ProxyHeaderV2.encode(new InetSocketAddress("::1", 1), new InetSocketAddress("::1", 2), null, true);
        assertThat(v6[13]).isEqualTo((byte) 0x22);
    }
}

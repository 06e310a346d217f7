package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The one host parser: canonical literals become addresses without a lookup; lenient numeric forms are refused. */
class HostSyntaxTest {

    @ParameterizedTest
    @ValueSource(strings = {"127.1", "127.0.1", "2130706433", "127.000.000.001", "0127.0.0.1", "0x7f.0.0.1",
            "0x7f000001", "0X7F.1", "1.2.3.4.5", "0", "1.2.3.4.", "256.1.1.1", "1.2.3", "01.2.3.4", "a.0x",
            "example.123"})
    void numericFormsThatAreNotCanonicalIpv4_areRefused(String host) {
        assertThatThrownBy(() -> HostSyntax.parse(host)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(host);
    }

    @Test
    void canonicalIpv4WithATrailingDot_isRefusedSayingSo() {
        assertThatThrownBy(() -> HostSyntax.parse("1.2.3.4.")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trailing dot").hasMessageContaining("as 1.2.3.4)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":::1", "::1%", "[::1]", "x:y.example",
            "::ffff:127.1", ":1", "1:", "1:2:3:4:5:6:7", "g::1", "1:2:3:4:5:6:7:8::", "::1.2.3.4.5", "1:::2",
            "1:2:3:4:5:6::1.2.3.4", "::1.2.3.4:5", "fe80::1%", "fe80::1%a/b", "fe80::1%1%2", "::ffff:01.2.3.4"})
    void malformedIpv6_andOtherColons_areRefused(String host) {
        assertThatThrownBy(() -> HostSyntax.parse(host)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bracketedIpv6_isRefusedAskingForItWithoutBrackets() {
        assertThatThrownBy(() -> HostSyntax.parse("[::1]")).hasMessageContaining("without brackets");
    }

    @ParameterizedTest
    @CsvSource({"127.0.0.1,127.0.0.1", "0.0.0.0,0.0.0.0", "255.255.255.255,255.255.255.255", "10.0.0.5,10.0.0.5"})
    void canonicalIpv4_isALiteral(String host, String address) throws Exception {
        HostSyntax.Host h = HostSyntax.parse(host);
        assertThat(h.kind()).isEqualTo(HostSyntax.Kind.IPV4);
        assertThat(h.address()).isInstanceOf(Inet4Address.class).isEqualTo(InetAddress.getByName(address));
        assertThat(h.name()).isEqualTo(address);
        assertThat(h.text()).isEqualTo(host);
        assertThat(h.isLiteral()).isTrue();
    }

    @ParameterizedTest
    @CsvSource({"::1,0:0:0:0:0:0:0:1", "::,0:0:0:0:0:0:0:0", "1:2:3:4:5:6:7:8,1:2:3:4:5:6:7:8",
            "2001:DB8::10.0.0.1,2001:db8:0:0:0:0:a00:1", "fe80::1:0,fe80:0:0:0:0:0:1:0", "1::,1:0:0:0:0:0:0:0",
            "1:2:3:4:5:6:7::,1:2:3:4:5:6:7:0", "64:ff9b::10.0.0.1,64:ff9b:0:0:0:0:a00:1",
            "1:2:3:4:5:6:1.2.3.4,1:2:3:4:5:6:102:304", "ABCD:EF01::,abcd:ef01:0:0:0:0:0:0"})
    void ipv6_isALiteral(String host, String canonical) {
        HostSyntax.Host h = HostSyntax.parse(host);
        assertThat(h.kind()).isEqualTo(HostSyntax.Kind.IPV6);
        assertThat(h.address()).isInstanceOf(Inet6Address.class);
        assertThat(h.address().getHostAddress()).isEqualTo(canonical);
        assertThat(h.name()).isEqualTo(canonical);
        assertThat(h.isLiteral()).isTrue();
    }

    @Test
    void ipv4MappedIpv6_isTheIpv4AddressItMapsTo() throws Exception {
        HostSyntax.Host h = HostSyntax.parse("::ffff:127.0.0.1");
        assertThat(h.kind()).isEqualTo(HostSyntax.Kind.IPV6);
        assertThat(h.address()).isInstanceOf(Inet4Address.class).isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(HostSyntax.parse("::FFFF:7f00:1").address()).isEqualTo(InetAddress.getByName("127.0.0.1"));
    }

    @Test
    void numericZone_isTheScopeId() {
        HostSyntax.Host h = HostSyntax.parse("fe80::1%1");
        Inet6Address a = (Inet6Address) h.address();
        assertThat(a.getScopeId()).isEqualTo(1);
        assertThat(h.name()).isEqualTo("fe80:0:0:0:0:0:0:1");
        assertThat(h.text()).isEqualTo("fe80::1%1");
        assertThatThrownBy(() -> HostSyntax.parse("fe80::1%no-such-interface-here"))
                .hasMessageContaining("no interface");
    }

    @Test
    void ipv4MappedWithAZone_isRefused_forItWouldStayASixteenByteAddress() {
        assertThatThrownBy(() -> HostSyntax.parse("::ffff:127.0.0.1%1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("IPv4-mapped");
    }

    @ParameterizedTest
    @CsvSource({"Example.COM.,example.com", "a_b.internal,a_b.internal", "localhost,localhost",
            "xn--bcher-kva.example,xn--bcher-kva.example", "1a.example,1a.example", "host-1,host-1"})
    void names_areLowerCasedWithoutOneTrailingDot(String host, String name) {
        HostSyntax.Host h = HostSyntax.parse(host);
        assertThat(h.kind()).isEqualTo(HostSyntax.Kind.NAME);
        assertThat(h.name()).isEqualTo(name);
        assertThat(h.text()).isEqualTo(host);
        assertThat(HostSyntax.literal(host)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"a..b", ".a", "a..", "-a.example", "a-.example", "a b", "a/b", "a@b", "."})
    void malformedNames_areRefused(String host) {
        assertThatThrownBy(() -> HostSyntax.parse(host)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void lengthLimits() {
        String label63 = "a".repeat(63);
        assertThat(HostSyntax.parse(label63 + ".example").kind()).isEqualTo(HostSyntax.Kind.NAME);
        assertThatThrownBy(() -> HostSyntax.parse("a".repeat(64) + ".example")).hasMessageContaining("63");
        String name253 = String.join(".", label63, label63, label63, "a".repeat(61));
        assertThat(name253).hasSize(253);
        assertThat(HostSyntax.parse(name253).kind()).isEqualTo(HostSyntax.Kind.NAME);
        assertThatThrownBy(() -> HostSyntax.parse(name253 + "b")).hasMessageContaining("253");
    }

    @Test
    void nonAscii_andControlCharacters_areRefused_withEscapedMessages() {
        assertThatThrownBy(() -> HostSyntax.parse("bücher.example")).hasMessageContaining("xn--");
        assertThatThrownBy(() -> HostSyntax.parse("a\r\nb"))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\r").doesNotContain("\n")
                        .contains("\\x0d").contains("\\x0a"));
        assertThatThrownBy(() -> HostSyntax.parse("a\0b")).satisfies(e -> assertThat(e.getMessage())
                .doesNotContain("\0").contains("\\x00"));
        assertThatThrownBy(() -> HostSyntax.parse("a\r\nb.example"))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\r").doesNotContain("\n")
                        .contains("\\x0d"));
        assertThatThrownBy(() -> HostSyntax.parse("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> HostSyntax.parse(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HostSyntax.parse("a.".repeat(127) + "ab")).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("255");
    }

    @Test
    void literal_givesTheAddressOfLiterals() throws Exception {
        assertThat(HostSyntax.literal("192.0.2.1")).contains(InetAddress.getByName("192.0.2.1"));
        assertThat(HostSyntax.literal("db.internal")).isEmpty();
        assertThat(HostSyntax.literal("Example.COM.")).isEmpty();
        assertThat(HostSyntax.literal("::1")).contains(InetAddress.getByName("::1"));
        assertThatThrownBy(() -> HostSyntax.literal("127.1")).isInstanceOf(IllegalArgumentException.class);
    }
}

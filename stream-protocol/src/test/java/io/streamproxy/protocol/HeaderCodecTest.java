package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Destination;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HeaderCodecTest {

    @ParameterizedTest(name = "{0}/{1} flags={2} -> {3}")
    @CsvSource({
            "example.com, 443, 0, E89B2E09",
            "example.com, 443, 1, 9F9C1E9F",
            "'', '', 1, 7D621C75",
            "127.0.0.1, 8080, 0, 249CEDAD",
            "10.0.0.5, 53, 0, 703ABB2C",
            "::1, 22, 0, 12D285B3",
    })
    void protocolVectors_matchByteForByte(String host, String port, int flags, String crcHex) throws Exception {
        byte[] header = HeaderCodec.encode(host, port, flags);

        assertThat(header).hasSize(275);
        assertThat(HexFormat.of().withUpperCase().formatHex(header, 271, 275)).isEqualTo(crcHex);
        byte[] expected = new byte[275];
        System.arraycopy("0.1.0".getBytes(StandardCharsets.US_ASCII), 0, expected, 0, 5);
        expected[8] = (byte) host.length();
        System.arraycopy(host.getBytes(StandardCharsets.US_ASCII), 0, expected, 9, host.length());
        expected[264] = (byte) port.length();
        System.arraycopy(port.getBytes(StandardCharsets.US_ASCII), 0, expected, 265, port.length());
        expected[270] = (byte) flags;
        System.arraycopy(HexFormat.of().parseHex(crcHex), 0, expected, 271, 4);
        assertThat(header).isEqualTo(expected);

        StreamHeader decoded = HeaderCodec.decode(header, 0, header.length);
        assertThat(decoded).isEqualTo(new StreamHeader(host, port, flags));
    }

    @Test
    void healthProbe_isTheProbeVector() throws Exception {
        byte[] probe = HeaderCodec.healthProbe();
        assertThat(HexFormat.of().withUpperCase().formatHex(probe, 271, 275)).isEqualTo("7D621C75");
        assertThat(HeaderCodec.decode(probe, 0, 275).isHealthProbe()).isTrue();
    }

    @Test
    void everySingleBitFlip_isRejected() {
        byte[] valid = HeaderCodec.encode("example.com", "443", 0);
        for (int bit = 0; bit < valid.length * 8; bit++) {
            byte[] flipped = valid.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            int at = bit;
            assertThatThrownBy(() -> HeaderCodec.decode(flipped, 0, flipped.length))
                    .as("bit %d", at).isInstanceOf(InvalidHeaderException.class);
        }
    }

    @Test
    void ipv6Literal_goesInWithoutBrackets_andComesOutDialable() throws Exception {
        byte[] header = HeaderCodec.encode(Destination.of("::1", 22));
        assertThat(header[8]).isEqualTo((byte) 3);
        assertThat(new String(header, 9, 3, StandardCharsets.US_ASCII)).isEqualTo("::1");

        Destination d = HeaderCodec.decode(header, 0, 275).destination();
        InetSocketAddress address = new InetSocketAddress(d.host(), d.port());
        assertThat(address.isUnresolved()).isFalse();
        assertThat(address.getAddress()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(d.toString()).isEqualTo("[::1]:22");
    }

    @Test
    void bracketedIpv6_isRefusedByDestination() {
        assertThatThrownBy(() -> Destination.of("[::1]", 22)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without brackets");
    }

    @Test
    void encode_rejectsHostOver255Bytes_andPortOver5() {
        assertThat(HeaderCodec.encode("a".repeat(255), "1", 0)).hasSize(275);
        assertThatThrownBy(() -> HeaderCodec.encode("a".repeat(256), "1", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("256 bytes");
        assertThatThrownBy(() -> HeaderCodec.encode("é".repeat(128), "1", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("256 bytes");
        assertThatThrownBy(() -> HeaderCodec.encode("host", "123456", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 5");
        assertThatThrownBy(() -> HeaderCodec.encode("host", "1", 256))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badVersion_failsVersionCheck() {
        byte[] h = HeaderCodec.encode("example.com", "443", 0);
        h[4] = '1';
        resign(h);
        assertCheck(h, InvalidHeaderException.Check.VERSION);
    }

    @Test
    void portLengthSix_failsPortLengthCheck_evenWithValidChecksum() {
        byte[] h = HeaderCodec.encode("example.com", "443", 0);
        h[264] = 6;
        resign(h);
        assertCheck(h, InvalidHeaderException.Check.PORT_LENGTH);
    }

    @Test
    void badChecksum_failsChecksumCheck() {
        byte[] h = HeaderCodec.encode("example.com", "443", 0);
        h[274] ^= 0x5a;
        assertCheck(h, InvalidHeaderException.Check.CHECKSUM);
    }

    @Test
    void nonNumericOrOutOfRangePort_failsPortNumberCheck() {
        for (String port : new String[] {"http", "0", "65536", "99999", "", "4 3", "-1"}) {
            byte[] h = HeaderCodec.encode("example.com", port, 0);
            assertCheck(h, InvalidHeaderException.Check.PORT_NUMBER);
        }
    }

    @Test
    void wrongSize_failsSizeCheck() {
        byte[] h = HeaderCodec.encode("example.com", "443", 0);
        assertThatThrownBy(() -> HeaderCodec.decode(h, 0, 274)).isInstanceOfSatisfying(
                InvalidHeaderException.class, e -> assertThat(e.check()).isEqualTo(InvalidHeaderException.Check.SIZE));
        byte[] longer = new byte[276];
        System.arraycopy(h, 0, longer, 0, 275);
        assertThatThrownBy(() -> HeaderCodec.decode(ByteBuffer.wrap(longer))).isInstanceOf(
                InvalidHeaderException.class);
    }

    @Test
    void reservedFlagBits_areIgnoredOnRead() throws Exception {
        byte[] h = HeaderCodec.encode("example.com", "443", 0x80);
        StreamHeader decoded = HeaderCodec.decode(h, 0, 275);
        assertThat(decoded.isHealthProbe()).isFalse();
        assertThat(decoded.destination()).isEqualTo(Destination.of("example.com", 443));
    }

    @Test
    void decode_doesNotMoveTheBufferPosition() throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(300);
        buf.position(10);
        HeaderCodec.encode("h", "1", 0, buf);
        buf.flip().position(10);
        HeaderCodec.decode(buf);
        assertThat(buf.position()).isEqualTo(10);
    }

    private static void assertCheck(byte[] header, InvalidHeaderException.Check check) {
        assertThatThrownBy(() -> HeaderCodec.decode(header, 0, header.length))
                .isInstanceOfSatisfying(InvalidHeaderException.class, e -> assertThat(e.check()).isEqualTo(check));
    }

    /** Recomputes the checksum independently of the codec, so a test can isolate one check. */
    static void resign(byte[] h) {
        CRC32 crc = new CRC32();
        crc.update(h, 0, 271);
        ByteBuffer.wrap(h, 271, 4).putInt((int) crc.getValue());
    }
}

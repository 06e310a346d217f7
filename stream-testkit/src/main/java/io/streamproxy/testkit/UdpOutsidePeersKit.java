package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Destination;
import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * DTLS peers nobody here wrote drive the UDP server: {@code openssl s_client -dtls1_2} with only the Go agent's
 * cipher suite and Scandium packing whole flights, each sending a header record built without our codec, and
 * Scandium with a foreign certificate is refused.
 */
public abstract class UdpOutsidePeersKit extends UdpKitBase {
    @Test
    public void opensslDtlsClient_withOnlyTheGoCipherSuite_sendsItsOwnHeaderRecord_andGetsEchoes() throws Exception {
        StreamServer server = startServer();
        try (PeerProcess openssl = OutsidePeers.opensslDtls(server.udpAddress(), pki)) {
            openssl.write(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            assertThat(events.awaitOpened(WAIT).destination())
                    .as("openssl stderr: %s", openssl.stderr()).isEqualTo(Destination.of(echo.host(), echo.port()));
            for (String line : new String[] {"first datagram\n", "second, a little longer datagram\n"}) {
                byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
                openssl.write(bytes);
                assertThat(openssl.read(bytes.length, WAIT)).isEqualTo(bytes);
            }
        }
        assertThat(echo.datagramCount()).isEqualTo(2);
    }

    @Test
    public void scandiumClient_packingWholeFlights_getsEchoes() throws Exception {
        StreamServer server = startServer();
        try (ScandiumDtlsClient scandium = ScandiumDtlsClient.connect(server.udpAddress(), pki.client().key(),
                List.of(pki.client().certificate()), pki.caCertificate(), WAIT)) {
            scandium.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0));
            for (int size : new int[] {1, 1500, 16384}) {
                byte[] data = new byte[size];
                new Random(size).nextBytes(data);
                scandium.send(data);
                assertThat(scandium.receive(WAIT)).isEqualTo(data);
            }
        }
        assertThat(events.awaitOpened(WAIT).destination()).isEqualTo(Destination.of(echo.host(), echo.port()));
    }

    @Test
    public void scandiumClient_withForeignCertificate_isRefused() throws Exception {
        StreamServer server = startServer();
        try (ScandiumDtlsClient scandium = ScandiumDtlsClient.connect(server.udpAddress(),
                pki.foreignClient().key(), List.of(pki.foreignClient().certificate()), pki.caCertificate(), WAIT)) {
            assertThatThrownBy(() -> scandium.send(WireHeaders.valid(echo.host(), Integer.toString(echo.port()),
                    0))).isInstanceOf(IOException.class);
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.HANDSHAKE_FAILED);
        assertThat(echo.datagramCount()).isZero();
    }
}

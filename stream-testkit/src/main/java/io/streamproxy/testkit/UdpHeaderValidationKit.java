package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.event.Level;

/**
 * What the UDP server does with the header record: invalid headers end the session without sending anything, and a
 * health probe ends quietly without a destination socket.
 */
public abstract class UdpHeaderValidationKit extends UdpKitBase {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"shortRecord", "badChecksum", "portLengthSix", "badVersion"})
    public void invalidHeader_endsSession_andSendsNothing(String variant) throws Exception {
        StreamServer server = startServer();
        byte[] host = echo.host().getBytes(StandardCharsets.US_ASCII);
        byte[] port = Integer.toString(echo.port()).getBytes(StandardCharsets.US_ASCII);
        byte[] first;
        switch (variant) {
            case "shortRecord":
                first = Arrays.copyOf(WireHeaders.valid(echo.host(), Integer.toString(echo.port()), 0), 274);
                break;
            case "badChecksum":
                first = WireHeaders.build(WireHeaders.version(), host, port.length, port, 0, true);
                break;
            case "portLengthSix":
                first = WireHeaders.build(WireHeaders.version(), host, 6, port, 0, false);
                break;
            default:
                first = WireHeaders.build("1.0.0\0\0\0".getBytes(StandardCharsets.US_ASCII), host, port.length,
                        port, 0, false);
        }
        try (RawDtlsClient c = RawDtlsClient.create(server.udpAddress(), pki.clientCredentials(), null)) {
            c.handshake(WAIT);
            c.send(first);
            c.send("payload".getBytes(StandardCharsets.US_ASCII));
            assertThat(c.receive(WAIT)).as("the server ends the session").isNull();
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.INVALID_HEADER);
        assertThat(echo.datagramCount()).isZero();
    }

    @Test
    public void healthProbe_endsQuietly_withoutDestinationSocket() throws Exception {
        StreamServer server = startServer();
        assertThat(RecordedLogs.isActive()).isTrue();
        int mark = RecordedLogs.mark();
        assertThat(client(server).probeUdp(Duration.ofSeconds(5))).isPositive();
        events.awaitProbe(WAIT);
        assertThat(events.refusedCount()).isZero();
        assertThat(events.openedCount()).isZero();
        assertThat(echo.datagramCount()).isZero();
        assertThat(RecordedLogs.since(mark, Level.WARN)).isEmpty();
    }
}

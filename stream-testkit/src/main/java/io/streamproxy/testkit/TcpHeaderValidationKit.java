package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.RefusalReason;
import io.streamproxy.StreamServer;
import io.streamproxy.TcpTunnel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.event.Level;

/**
 * What the TCP server does with the header: invalid headers and bad destinations close the connection without
 * dialling, a health probe closes quietly without dialling or logging, and a policy denial closes without dialling.
 */
public abstract class TcpHeaderValidationKit extends TcpKitBase {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"badVersion", "badChecksum", "portLengthSix", "nonNumericPort", "portZero"})
    public void invalidHeader_closesWithoutDialling(String variant) throws Exception {
        StreamServer server = startServer();
        byte[] host = echo.host().getBytes(StandardCharsets.US_ASCII);
        byte[] port = Integer.toString(echo.port()).getBytes(StandardCharsets.US_ASCII);
        byte[] header;
        RefusalReason expected = RefusalReason.INVALID_HEADER;
        switch (variant) {
            case "badVersion":
                header = WireHeaders.build("0.2.0\0\0\0".getBytes(StandardCharsets.US_ASCII), host, port.length,
                        port, 0, false);
                break;
            case "badChecksum":
                header = WireHeaders.build(WireHeaders.version(), host, port.length, port, 0, true);
                break;
            case "portLengthSix":
                header = WireHeaders.build(WireHeaders.version(), host, 6, port, 0, false);
                break;
            case "nonNumericPort":
                header = WireHeaders.valid(echo.host(), "http", 0);
                expected = RefusalReason.BAD_DESTINATION;
                break;
            default:
                header = WireHeaders.valid(echo.host(), "0", 0);
                expected = RefusalReason.BAD_DESTINATION;
        }
        try (SSLSocket s = RawTlsClient.connect(server.tcpAddress(), pki.clientCredentials(), null,
                new String[] {"godoxy-agent-stream/1"}, WAIT)) {
            s.getOutputStream().write(header);
            s.getOutputStream().write("data".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertClosedByServer(s.getInputStream());
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(expected);
        assertThat(echo.connectionCount()).isZero();
    }

    @Test
    public void healthProbe_closesQuietly_withoutDialling_orLoggingErrors() throws Exception {
        StreamServer server = startServer();
        assertThat(RecordedLogs.isActive()).as("the kit needs -Dslf4j.provider=io.streamproxy.testkit.RecordedLogs")
                .isTrue();
        int mark = RecordedLogs.mark();
        Duration took = client(server).probeTcp(Duration.ofSeconds(10));
        assertThat(took).isPositive();
        events.awaitProbe(WAIT);
        assertThat(echo.connectionCount()).isZero();
        assertThat(events.refusedCount()).as("refusals reported for a health probe").isZero();
        assertThat(RecordedLogs.since(mark, Level.WARN)).as("log lines for a health probe: a health probe logged at"
                + " WARN or above (a probe is the protocol's normal quiet close, not an error)").isEmpty();
    }

    @Test
    public void policyDenial_closesWithoutDialling() throws Exception {
        StreamServer server = startServer(b -> b.policy(d -> d.port() != echo.port()));
        try (TcpTunnel t = open(client(server), echo.host(), echo.port())) {
            assertClosedByServer(t.input());
        }
        assertThat(events.awaitRefusal(WAIT).reason()).isEqualTo(RefusalReason.POLICY_DENIED);
        assertThat(echo.settledConnectionCount(WAIT)).as("connections to a destination the policy denies: the server"
                + " dialled a destination the policy denies (it must put each address to the policy before dialling)")
                .isZero();
    }
}

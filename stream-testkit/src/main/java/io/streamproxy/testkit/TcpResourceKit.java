package io.streamproxy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Protocol;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TcpTunnel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Resources over TCP: closing a server ends its live sessions and its idle connections and leaves no thread or file
 * descriptor behind.
 */
public abstract class TcpResourceKit extends TcpKitBase {
    @Test
    public void serverClose_endsLiveSessions_andLeavesNoThreadOrSocket() throws Exception {
        // warm up: JDK-internal threads and caches that start on first use are not the server's; the warm-up server
        // reports to no listener, so that its session does not count among those awaited below
        try (StreamServer warm = newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT)
                .listener(SessionListener.NONE).tcp(loopback()).build());
             StreamClient c = newClient(clientOptions(warm.tcpAddress(), pki.clientCredentials()).build());
             TcpTunnel t = open(c, echo.host(), echo.port())) {
            t.output().write(1);
            t.input().read();
        }
        ResourceSnapshot before = ResourceSnapshot.take();
        TcpDestination dest = TcpDestination.echo();
        StreamServer server = newServer(serverOptions(StreamServerOptions.DEFAULT_HEADER_TIMEOUT).tcp(loopback())
                .build());
        StreamClient client = newClient(clientOptions(server.tcpAddress(), pki.clientCredentials()).build());
        List<TcpTunnel> tunnels = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            TcpTunnel t = open(client, dest.host(), dest.port());
            t.output().write(i);
            assertThat(t.input().read()).isEqualTo(i);
            tunnels.add(t);
        }
        Socket idle = new Socket();
        idle.connect(server.tcpAddress(), (int) WAIT.toMillis());
        assertThat(server.activeSessions(Protocol.TCP)).isEqualTo(5);

        server.close();

        for (TcpTunnel t : tunnels) {
            assertClosedByServer(t.input());
        }
        assertClosedByServer(idle.getInputStream());
        for (int i = 0; i < 5; i++) {
            events.awaitClosed(WAIT);
        }
        for (TcpTunnel t : tunnels) {
            t.close();
        }
        idle.close();
        client.close();
        dest.close();
        List<Thread> leftover = before.threadsStartedSince(Duration.ofSeconds(10));
        assertThat(leftover).as("threads left running: %s", ResourceSnapshot.names(leftover)).isEmpty();
        if (before.fileDescriptors() >= 0) {
            assertThat(ResourceSnapshot.openFileDescriptors()).isLessThanOrEqualTo(before.fileDescriptors());
        }
    }

    private static InetSocketAddress loopback() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }
}

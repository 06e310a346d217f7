package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServer;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.testkit.TestPki;
import io.streamproxy.testkit.UdpDestination;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The netty UDP client holds a bounded number of datagrams for an application that does not receive. */
class NettyDatagramTunnelTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void aClientThatDoesNotReceive_queuesAtMostMaxQueued() throws Exception {
        TestPki pki = TestPki.shared();
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (UdpDestination echo = UdpDestination.echo();
             StreamServer server = StreamServer.start(StreamServerOptions.builder(pki.serverCredentials())
                     .transport("netty").udp(loopback).build());
             StreamClient client = StreamClient.create(StreamClientOptions.builder(server.udpAddress(),
                     pki.clientCredentials()).transport("netty").build());
             DatagramTunnel t = client.openUdp(echo.host(), echo.port())) {
            NettyDatagramTunnel tunnel = (NettyDatagramTunnel) t;
            int sent = NettyDatagramTunnel.MAX_QUEUED + 2000;
            for (int i = 0; i < sent; i++) {
                t.send(ByteBuffer.allocate(4).putInt(0, i));
            }
            // every echo came back (or was lost on the way) once the queue stops changing: looked at every 50 ms
            CountDownLatch never = new CountDownLatch(1);
            long end = System.nanoTime() + WAIT.toNanos();
            int last = -1;
            int now = tunnel.queued();
            while (now != last && System.nanoTime() < end) {
                last = now;
                never.await(200, TimeUnit.MILLISECONDS);
                now = tunnel.queued();
            }
            assertThat(echo.datagramCount()).as("echoes sent back").isGreaterThan(NettyDatagramTunnel.MAX_QUEUED);
            assertThat(now).as("datagrams held for the application").isPositive()
                    .isLessThanOrEqualTo(NettyDatagramTunnel.MAX_QUEUED);
        }
    }
}

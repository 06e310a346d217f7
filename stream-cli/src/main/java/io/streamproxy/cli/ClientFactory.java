package io.streamproxy.cli;

import io.streamproxy.StreamClient;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.TlsCredentials;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;

/** Builds the clients of {@code forward}, {@code probe} and the demo from command-line values. */
final class ClientFactory {
    private ClientFactory() {
    }

    static StreamClient create(InetSocketAddress server, TlsCredentials credentials, String serverName,
                               String transport, Duration timeout) {
        return create(server, credentials, serverName, transport, Map.of(), timeout);
    }

    static StreamClient create(InetSocketAddress server, TlsCredentials credentials, String serverName,
                               String transport, Map<String, String> transportOptions, Duration timeout) {
        StreamClientOptions.Builder b = StreamClientOptions.builder(server, credentials).transport(transport)
                .handshakeTimeout(timeout).connectTimeout(timeout);
        transportOptions.forEach(b::transportOption);
        if (serverName != null) {
            b.serverName(serverName);
        }
        return StreamClient.create(b.build());
    }
}

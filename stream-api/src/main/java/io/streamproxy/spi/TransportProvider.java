package io.streamproxy.spi;

import io.streamproxy.Protocol;
import io.streamproxy.StreamClientOptions;
import io.streamproxy.StreamServerOptions;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;

/**
 * A transport, found by {@link java.util.ServiceLoader} through {@code META-INF/services/}
 * {@code io.streamproxy.spi.TransportProvider}. It names itself, says whether it can run here and why not, ranks
 * itself with a priority (higher wins when the user names none), lists the protocols it implements, and creates
 * servers and clients for them. Methods for a protocol it does not list throw
 * {@link UnsupportedOperationException}. Implementations need a public no-argument constructor and must not do
 * expensive work in it.
 */
public interface TransportProvider {

    /**
     * Returns the short name users pick the transport by ({@code jdk}, {@code netty}, {@code bc}).
     *
     * @return the name, lower case
     */
    String name();

    /**
     * Ranks the transport: when none is named, the available one with the highest priority that offers the
     * protocol is used (ties broken by name).
     *
     * @return the priority
     */
    int priority();

    /**
     * Returns the protocols this transport implements.
     *
     * @return a non-empty set
     */
    Set<Protocol> protocols();

    /**
     * Tells why this transport cannot run here (a missing native library, say), or empty when it can.
     *
     * @return the reason it is unavailable, or empty
     */
    default Optional<String> unavailabilityCause() {
        return Optional.empty();
    }

    /**
     * Tells whether this transport can run here.
     *
     * @return true when {@link #unavailabilityCause()} is empty
     */
    default boolean isAvailable() {
        return unavailabilityCause().isEmpty();
    }

    /**
     * Binds and starts a TCP-over-TLS server on {@link StreamServerOptions#tcpAddress()}.
     *
     * @param options the server settings
     * @return the started endpoint
     * @throws IOException if binding fails
     */
    default ServerEndpoint startTcpServer(StreamServerOptions options) throws IOException {
        throw new UnsupportedOperationException("transport '" + name() + "' does not offer TCP");
    }

    /**
     * Binds and starts a UDP-over-DTLS server on {@link StreamServerOptions#udpAddress()}.
     *
     * @param options the server settings
     * @return the started endpoint
     * @throws IOException if binding fails
     */
    default ServerEndpoint startUdpServer(StreamServerOptions options) throws IOException {
        throw new UnsupportedOperationException("transport '" + name() + "' does not offer UDP");
    }

    /**
     * Creates a TCP-over-TLS client.
     *
     * @param options the client settings
     * @return the client
     * @throws IOException if the credentials cannot be turned into a TLS context
     */
    default TcpClientTransport newTcpClient(StreamClientOptions options) throws IOException {
        throw new UnsupportedOperationException("transport '" + name() + "' does not offer TCP");
    }

    /**
     * Creates a UDP-over-DTLS client.
     *
     * @param options the client settings
     * @return the client
     * @throws IOException if the credentials cannot be turned into a DTLS context
     */
    default UdpClientTransport newUdpClient(StreamClientOptions options) throws IOException {
        throw new UnsupportedOperationException("transport '" + name() + "' does not offer UDP");
    }
}

package io.streamproxy.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.californium.elements.AddressEndpointContext;
import org.eclipse.californium.elements.EndpointContext;
import org.eclipse.californium.elements.MessageCallback;
import org.eclipse.californium.elements.RawData;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.elements.config.SystemConfig;
import org.eclipse.californium.scandium.DTLSConnector;
import org.eclipse.californium.scandium.config.DtlsConfig;
import org.eclipse.californium.scandium.config.DtlsConfig.DtlsRole;
import org.eclipse.californium.scandium.config.DtlsConnectorConfig;
import org.eclipse.californium.scandium.dtls.CertificateType;
import org.eclipse.californium.scandium.dtls.ExtendedMasterSecretMode;
import org.eclipse.californium.scandium.dtls.cipher.CipherSuite;
import org.eclipse.californium.scandium.dtls.x509.SingleCertificateProvider;
import org.eclipse.californium.scandium.dtls.x509.StaticNewAdvancedCertificateVerifier;

/**
 * A DTLS 1.2 client built on Eclipse Californium Scandium, a stack nobody on this project wrote, to act as an outside
 * peer in UDP interop tests.
 *
 * <p>It offers only {@code TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256} with an X.509 client certificate, requires the
 * extended master secret (RFC 7627), trusts only the given CA, and sends SNI {@value #SERVER_NAME}, against which it
 * also checks the server certificate's names. It presents {@code chain} as given, even when the server's
 * CertificateRequest names other CAs (Scandium's default would then send an empty Certificate message), so that a
 * test can see the server reject a wrong certificate. One connector with one receiver thread and one timer thread
 * serves one server.
 *
 * <p>Scandium has no handshake call of its own: it handshakes when the first message is sent. So {@link #connect}
 * only binds the local socket, and the handshake happens within the first {@link #send}, which fails if the handshake
 * does.
 */
public final class ScandiumDtlsClient implements Closeable {
    /** The name sent as SNI and required in the server certificate. */
    public static final String SERVER_NAME = "godoxy.agent";

    private final DTLSConnector connector;
    private final EndpointContext destination;
    private final Duration timeout;
    private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();

    private ScandiumDtlsClient(DTLSConnector connector, InetSocketAddress server, Duration timeout) {
        this.connector = connector;
        this.destination = new AddressEndpointContext(server, SERVER_NAME, null);
        this.timeout = timeout;
    }

    /**
     * Starts a client-only connector on loopback (127.0.0.1, or ::1 for an IPv6 server), port 0. No datagram is sent
     * yet: the handshake happens on the first {@link #send}.
     *
     * @param server    the DTLS server, on loopback
     * @param key       the client's ECDSA P-256 private key
     * @param chain     the client's certificate chain, leaf first
     * @param trustedCa the only CA trusted for the server's certificate
     * @param timeout   bounds each later {@link #send}, handshake included
     * @return a started client
     * @throws IOException if the connector cannot be configured or bound
     */
    public static ScandiumDtlsClient connect(InetSocketAddress server, PrivateKey key, List<X509Certificate> chain,
                                             X509Certificate trustedCa, Duration timeout) throws IOException {
        InetAddress local = InetAddress.getByName(server.getAddress() instanceof Inet6Address ? "::1" : "127.0.0.1");
        DTLSConnector connector;
        try {
            Configuration configuration = new Configuration(SystemConfig.DEFINITIONS, DtlsConfig.DEFINITIONS);
            DtlsConnectorConfig config = DtlsConnectorConfig.builder(configuration)
                    .setAddress(new InetSocketAddress(local, 0))
                    .set(DtlsConfig.DTLS_ROLE, DtlsRole.CLIENT_ONLY)
                    .setAsList(DtlsConfig.DTLS_CIPHER_SUITES, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
                    .set(DtlsConfig.DTLS_EXTENDED_MASTER_SECRET_MODE, ExtendedMasterSecretMode.REQUIRED)
                    .setAsList(DtlsConfig.DTLS_CERTIFICATE_TYPES, CertificateType.X_509)
                    .set(DtlsConfig.DTLS_USE_SERVER_NAME_INDICATION, true)
                    .set(DtlsConfig.DTLS_VERIFY_SERVER_CERTIFICATES_SUBJECT, true)
                    .set(DtlsConfig.DTLS_TRUNCATE_CLIENT_CERTIFICATE_PATH, false)
                    .set(DtlsConfig.DTLS_RECEIVER_THREAD_COUNT, 1)
                    .set(DtlsConfig.DTLS_CONNECTOR_THREAD_COUNT, 1)
                    .set(DtlsConfig.DTLS_MAX_CONNECTIONS, 4)
                    .setCertificateIdentityProvider(new SingleCertificateProvider(key,
                            chain.toArray(new Certificate[0]), CertificateType.X_509))
                    .setAdvancedCertificateVerifier(StaticNewAdvancedCertificateVerifier.builder()
                            .setTrustedCertificates(trustedCa).build())
                    .build();
            connector = new DTLSConnector(config);
        } catch (RuntimeException e) {
            throw new IOException("cannot configure Scandium: " + e.getMessage(), e);
        }
        ScandiumDtlsClient client = new ScandiumDtlsClient(connector, server, timeout);
        connector.setRawDataReceiver(raw -> client.received.add(raw.getBytes()));
        try {
            connector.start();
        } catch (IOException | RuntimeException e) {
            connector.destroy();
            throw e;
        }
        return client;
    }

    /**
     * Sends one datagram as one DTLS application record, handshaking first if no session is up, and waits until
     * Scandium has written it to the socket.
     *
     * @param datagram the payload, at most 16384 bytes
     * @throws SocketTimeoutException if that did not happen within the timeout given to {@link #connect}; the message
     *                                may still go out later if a handshake is still under way
     * @throws IOException            if the handshake failed or the record could not be sent
     */
    public void send(byte[] datagram) throws IOException {
        CompletableFuture<Void> outcome = new CompletableFuture<>();
        RawData message = RawData.outbound(datagram, destination, new MessageCallback() {
            @Override
            public void onConnecting() {
            }

            @Override
            public void onDtlsRetransmission(int flight) {
            }

            @Override
            public void onContextEstablished(EndpointContext context) {
            }

            @Override
            public void onSent() {
                outcome.complete(null);
            }

            @Override
            public void onError(Throwable error) {
                outcome.completeExceptionally(error);
            }
        }, false);
        try {
            connector.send(message);
        } catch (RuntimeException e) {
            throw new IOException("Scandium refused the message: " + e.getMessage(), e);
        }
        try {
            outcome.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new SocketTimeoutException("datagram not sent within " + timeout);
        } catch (ExecutionException e) {
            throw new IOException("DTLS send failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while sending");
        }
    }

    /**
     * Takes the next application datagram the server sent.
     *
     * @param timeout how long to wait for one
     * @return its payload
     * @throws SocketTimeoutException if none arrived within {@code timeout}
     * @throws IOException            if interrupted while waiting
     */
    public byte[] receive(Duration timeout) throws IOException {
        try {
            byte[] datagram = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (datagram == null) {
                throw new SocketTimeoutException("no datagram within " + timeout);
            }
            return datagram;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while receiving");
        }
    }

    /**
     * Stops and destroys the connector: closes the socket and ends its receiver and timer threads (Scandium waits up
     * to 0.5 s for each). No alert is sent to the server.
     */
    @Override
    public void close() {
        connector.destroy();
    }
}

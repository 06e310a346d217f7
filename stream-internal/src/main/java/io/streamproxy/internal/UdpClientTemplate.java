package io.streamproxy.internal;

import io.streamproxy.DatagramTunnel;
import io.streamproxy.Destination;
import io.streamproxy.HealthProbeException;
import io.streamproxy.protocol.HeaderCodec;
import io.streamproxy.spi.UdpClientTransport;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * What every UDP client does alike, around the transport's own handshake: send the header as the first record
 * (and close the tunnel if that fails), and run a health probe (probe header, then wait for the server's
 * close_notify within the timeout, a datagram in answer being a protocol error). A probe sends its header again
 * after 0.5 s, 1 s, 2 s... without an answer: a lost header or a lost close_notify (which the Go agent sends once)
 * would otherwise fail a healthy server's probe; a server that already ended the session answers the repeat with
 * a close_notify in the clear ({@code DtlsRecords.answerUnknownSession}), which ends the tunnel too. A transport
 * implements {@link #connect} and {@link #classify}. Internal: not API.
 */
public abstract class UdpClientTemplate implements UdpClientTransport {
    /** How long a probe waits for the server's close before it sends its header again; doubled each time. */
    private static final long FIRST_PROBE_RESEND_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    /** A tunnel whose DTLS handshake is done and whose header is not yet sent. */
    public interface Handshaken extends DatagramTunnel {
        /**
         * Sends the header as its own record.
         *
         * @param destination the destination it names, or null for a probe
         * @param header      275 bytes
         * @throws IOException if sending fails
         */
        void sendHeader(Destination destination, byte[] header) throws IOException;
    }

    /**
     * Builds the JDK's DTLS 1.2 context from credentials, for the transports that run the JDK's DTLS engine.
     *
     * @param credentials the material
     * @return the context
     * @throws IOException if the credentials cannot be turned into one
     */
    protected static javax.net.ssl.SSLContext jdkDtlsContext(io.streamproxy.TlsCredentials credentials)
            throws IOException {
        try {
            return credentials.newSslContext("DTLSv1.2");
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot build the DTLS context: " + e.getMessage(), e);
        }
    }

    /**
     * Runs the DTLS handshake with the server within the timeout.
     *
     * @param timeout the bound
     * @return the handshaken tunnel
     * @throws IOException if the handshake fails or times out
     */
    protected abstract Handshaken connect(Duration timeout) throws IOException;

    /**
     * Turns a failure of a probe into its class.
     *
     * @param failure the exception
     * @param timeout the probe's timeout, for the message
     * @return the classified failure
     */
    protected abstract HealthProbeException classify(Exception failure, Duration timeout);

    /**
     * Returns the bound on the handshake of {@link #open}.
     *
     * @return the handshake timeout
     */
    protected abstract Duration handshakeTimeout();

    @Override
    public DatagramTunnel open(Destination destination) throws IOException {
        byte[] header = HeaderCodec.encode(destination);
        Handshaken t;
        try {
            t = connect(handshakeTimeout());
        } catch (IOException e) {
            // in words, as the TCP forwards log it: "certificate refused: the server answered with alert ..."
            throw HandshakeFailures.wordedRefusal(e);
        }
        try {
            t.sendHeader(destination, header);
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    @Override
    public Duration probe(Duration timeout) throws HealthProbeException {
        long start = System.nanoTime();
        Handshaken t = null;
        try {
            t = connect(timeout);
            long deadline = start + timeout.toNanos();
            byte[] header = HeaderCodec.healthProbe();
            long resend = FIRST_PROBE_RESEND_NANOS;
            while (true) {
                t.sendHeader(null, header);
                long wake = System.nanoTime() + resend;
                try {
                    if (!ClientSupport.awaitClose(t, Math.min(deadline, wake))) {
                        throw new HealthProbeException(HealthProbeException.Failure.PROTOCOL_ERROR,
                                "server sent a datagram in answer to a health probe instead of closing", null);
                    }
                    return Duration.ofNanos(System.nanoTime() - start);
                } catch (SocketTimeoutException e) {
                    if (deadline - System.nanoTime() <= 0) {
                        throw e;
                    }
                    resend *= 2; // the header or the server's close_notify was lost: the header goes again
                }
            }
        } catch (HealthProbeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw classify(e, timeout);
        } finally {
            if (t != null) {
                try {
                    t.close();
                } catch (IOException e) {
                    // closing
                }
            }
        }
    }
}

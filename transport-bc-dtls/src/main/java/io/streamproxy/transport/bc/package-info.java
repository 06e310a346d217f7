/**
 * The {@code bc} transport: UDP over DTLS 1.2 on Bouncy Castle's {@code org.bouncycastle.tls} DTLS protocol classes,
 * with stateless cookies ({@code DTLSVerifier}), chain validation that Bouncy Castle leaves to the application, and a
 * shared, bounded thread pool instead of a thread per idle session. Its public surface is
 * {@link io.streamproxy.transport.bc.BcTransportProvider}.
 */
package io.streamproxy.transport.bc;

/**
 * An I/O-free driver for the JDK's DTLS 1.2 {@link javax.net.ssl.SSLEngine}, shared by every transport that runs
 * DTLS on the JDK's engine (a blocking socket, an NIO selector or a Netty event loop): it runs the handshake with
 * retransmission and back-off, sizes handshake flights for a path MTU while keeping one application datagram per
 * record, processes several records per datagram, and reports application records and closes. The transport owns
 * the socket and the clock and calls in; the driver calls out only through {@link
 * io.streamproxy.protocol.dtls.DtlsDriver.Output}. For transport authors; users of tunnels never see it.
 */
package io.streamproxy.protocol.dtls;

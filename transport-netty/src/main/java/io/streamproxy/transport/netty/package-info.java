/**
 * The {@code netty} transport: TCP over TLS on Netty's {@code SslHandler} (OpenSSL through netty-tcnative when it
 * loads, else the JDK) with epoll when available, else NIO; and UDP over DTLS 1.2 on a Netty datagram channel,
 * driving the JDK's DTLS engine through the shared {@link io.streamproxy.protocol.dtls.DtlsDriver}. Its public
 * surface is {@link io.streamproxy.transport.netty.NettyTransportProvider}, the
 * {@link io.streamproxy.transport.netty.StreamTunnelHandler} a host's own Netty server mounts behind its ALPN switch,
 * and {@link io.streamproxy.transport.netty.NettyTunnels} for users who want a tunnel as a Netty channel.
 */
package io.streamproxy.transport.netty;

/**
 * The transport SPI: what a transport implements ({@link io.streamproxy.spi.TransportProvider} and the endpoint
 * types it returns) and how the {@link io.streamproxy.spi.TransportRegistry} finds it with
 * {@link java.util.ServiceLoader}. Users of tunnels need none of this; authors of transports need all of it, and run
 * the conformance kits of {@code stream-testkit} against their provider.
 */
package io.streamproxy.spi;

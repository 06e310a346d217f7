/**
 * The stream-proxy API: {@link io.streamproxy.StreamServer} and {@link io.streamproxy.StreamClient} with their
 * immutable options, {@link io.streamproxy.TlsCredentials}, the {@link io.streamproxy.DestinationPolicy} and
 * {@link io.streamproxy.SessionListener} hooks, and the exceptions. Transports plug in through
 * {@link io.streamproxy.spi}.
 */
package io.streamproxy;

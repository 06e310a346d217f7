/**
 * The {@code stream-proxy} command line: {@code certs}, {@code server} (tunnels plus an HTTPS API with health and
 * Prometheus metrics on the same port, chosen by ALPN), {@code forward}, {@code probe} and {@code demo}.
 */
package io.streamproxy.cli;

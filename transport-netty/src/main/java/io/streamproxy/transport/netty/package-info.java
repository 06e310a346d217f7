/**
 * The Netty transport (TCP over TLS and UDP over DTLS on event loops). Arrives with its own issue; the module builds empty until then.
 */
package io.streamproxy.transport.netty;

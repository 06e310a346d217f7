/**
 * The Bouncy Castle DTLS transport (UDP over DTLS 1.2). Arrives with its own issue; the module builds empty until then.
 */
package io.streamproxy.transport.bc;

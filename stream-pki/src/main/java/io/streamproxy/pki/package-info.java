/**
 * Certificate generation for stream tunnels with Bouncy Castle, shared by the command line ({@code stream-proxy
 * certs}, the demo) and the test kit: ECDSA P-256 keys like the Go agent's, a CA, server certificates with the
 * agent's name and loopback SANs, client certificates, and PEM files (PKCS#8 or SEC1 keys, owner-only).
 */
package io.streamproxy.pki;

/**
 * The wire format of GoDoxy's agent stream protocol: the 275-byte header ({@link io.streamproxy.protocol.HeaderCodec}),
 * its constants ({@link io.streamproxy.protocol.StreamProtocol}) and the sans-I/O rule that turns a received header
 * into a server decision ({@link io.streamproxy.protocol.SessionRules}). Nothing here does I/O, so every transport
 * applies the same rules with its own sockets.
 */
package io.streamproxy.protocol;

/**
 * The stream-proxy command line.
 */
package io.streamproxy.cli;

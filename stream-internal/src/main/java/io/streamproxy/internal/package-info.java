/**
 * Plumbing that every transport shares and no user should call: the listener that reports and logs session
 * events, the queued resolver of the dialler, the thread factory. Not API: it may change in any release without
 * notice; depend on {@code io.streamproxy} and {@code io.streamproxy.spi} instead.
 */
package io.streamproxy.internal;

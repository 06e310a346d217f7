package com.example.streamproxy.nio;

/**
 * A deliberate defect, for the test that shows the conformance kit catches broken transports
 * ({@code BrokenVariantsTest}). The public {@link NioSampleTransportProvider} constructor sets none; a copy of this
 * sample for real use deletes this type and every branch on it.
 */
enum Defect {
    /** Drops the bytes that arrived in the same TLS record as the header instead of relaying them. */
    DROPS_PIPELINED_BYTES,
    /** Never arms the deadline of handshake plus header: a silent client holds its connection forever. */
    IGNORES_HEADER_TIMEOUT,
    /** Connects to the destination named in the header before the session core has put it to the policy. */
    DIALS_BEFORE_POLICY,
    /** Closes the whole connection when the client half-closes, so the destination's reply never arrives. */
    TURNS_HALF_CLOSE_INTO_FULL_CLOSE,
    /** Trusts any client certificate, whatever CA issued it. */
    TRUSTS_ANY_CLIENT_CA,
    /** Logs every health probe as an error. */
    LOGS_PROBES_AS_ERRORS,
    /** Starts a watchdog thread per session that outlives the server. */
    LEAKS_A_THREAD_PER_SESSION,
    /** Ends the client's stream cleanly (close_notify) when the destination resets, so a cut looks complete. */
    TURNS_RESET_INTO_CLEAN_END,
    /** Dials without a bound and without the core's dial deadline: an unanswered destination holds the client. */
    IGNORES_DIAL_TIMEOUT,
    /** Leaves TCP keepalive off, so a peer that vanishes without a FIN holds its session forever. */
    NO_KEEPALIVE
}

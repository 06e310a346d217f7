package io.streamproxy.cli;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import java.net.SocketAddress;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server's session events as Prometheus metrics (Micrometer): sessions active and total per protocol, bytes
 * each way, handshakes (full or resumed), refusals by reason, handshake failures, health probes, datagrams dropped
 * in sessions and before authentication (by reason).
 */
final class Metrics implements SessionListener {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<Protocol, AtomicInteger> active = new EnumMap<>(Protocol.class);
    private final java.util.List<io.micrometer.core.instrument.Meter> expiryGauges = new java.util.ArrayList<>();

    Metrics() {
        for (Protocol p : Protocol.values()) {
            AtomicInteger gauge = new AtomicInteger();
            active.put(p, gauge);
            registry.gauge("stream_sessions_active", io.micrometer.core.instrument.Tags.of("protocol", tag(p)),
                    gauge);
        }
    }

    private static String tag(Protocol p) {
        return p.name().toLowerCase(Locale.ROOT);
    }

    private Counter counter(String name, String... tags) {
        return registry.counter(name, tags);
    }

    @Override
    public void sessionOpened(SessionInfo session) {
        active.get(session.protocol()).incrementAndGet();
        counter("stream_sessions_total", "protocol", tag(session.protocol())).increment();
    }

    @Override
    public void sessionClosed(SessionInfo session, long bytesToDestination, long bytesFromDestination) {
        active.get(session.protocol()).decrementAndGet();
        counter("stream_bytes_total", "protocol", tag(session.protocol()), "direction", "to_destination")
                .increment(bytesToDestination);
        counter("stream_bytes_total", "protocol", tag(session.protocol()), "direction", "from_destination")
                .increment(bytesFromDestination);
    }

    @Override
    public void sessionRefused(Protocol protocol, SocketAddress client, RefusalReason reason, String detail) {
        counter("stream_refusals_total", "protocol", tag(protocol), "reason",
                reason.name().toLowerCase(Locale.ROOT)).increment();
        if (reason == RefusalReason.HANDSHAKE_FAILED) {
            counter("stream_handshake_failures_total", "protocol", tag(protocol)).increment();
        }
    }

    @Override
    public void handshakeCompleted(Protocol protocol, SocketAddress client, boolean resumed) {
        counter("stream_handshakes_total", "protocol", tag(protocol), "session", resumed ? "resumed" : "full")
                .increment();
    }

    @Override
    public void healthProbe(Protocol protocol, SocketAddress client) {
        counter("stream_health_probes_total", "protocol", tag(protocol)).increment();
    }

    @Override
    public void datagramDropped(SessionInfo session, int size, String reason) {
        counter("stream_datagrams_dropped_total", "protocol", tag(session.protocol())).increment();
    }

    @Override
    public void unauthenticatedDropped(Protocol protocol, SocketAddress source, String reason) {
        counter("stream_unauthenticated_drops_total", "protocol", tag(protocol), "reason", reason).increment();
    }

    /**
     * Counts a certificate reload by its outcome.
     *
     * @param outcome {@code success}, {@code failure} or {@code unchanged}
     */
    void certificateReload(String outcome) {
        counter("stream_proxy_certificate_reloads_total", "outcome", outcome).increment();
    }

    /**
     * Shows the seconds left until each certificate in use expires ({@code stream_proxy_certificate_expiry_seconds},
     * labelled by role, subject and serial; negative once expired), replacing those of the material before.
     *
     * @param credentials the material now in use
     */
    synchronized void certificatesInUse(io.streamproxy.TlsCredentials credentials) {
        for (io.micrometer.core.instrument.Meter m : expiryGauges) {
            registry.remove(m);
        }
        expiryGauges.clear();
        java.util.List<java.security.cert.X509Certificate> chain = credentials.certificateChain();
        for (int i = 0; i < chain.size(); i++) {
            expiryGauges.add(expiryGauge(i == 0 ? "server" : "intermediate", chain.get(i)));
        }
        for (java.security.cert.X509Certificate ca : credentials.trustedCas()) {
            expiryGauges.add(expiryGauge("ca", ca));
        }
    }

    private io.micrometer.core.instrument.Meter expiryGauge(String role, java.security.cert.X509Certificate c) {
        long notAfter = c.getNotAfter().getTime();
        return io.micrometer.core.instrument.Gauge.builder("stream_proxy_certificate_expiry_seconds",
                        () -> (notAfter - System.currentTimeMillis()) / 1000.0)
                .tags("certificate", role, "subject", c.getSubjectX500Principal().getName(),
                        "serial", c.getSerialNumber().toString(16))
                .description("seconds until the certificate expires").register(registry);
    }

    /** Counts an access-log line dropped because the writer fell behind. */
    void accessLogDropped() {
        counter("stream_proxy_access_log_dropped_total").increment();
    }

    void accessLogDropped(long lines) {
        counter("stream_proxy_access_log_dropped_total").increment(lines);
    }

    /** @return the Prometheus text exposition */
    String scrape() {
        return registry.scrape();
    }
}

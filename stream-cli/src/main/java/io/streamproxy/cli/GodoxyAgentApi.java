package io.streamproxy.cli;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The GoDoxy agent API under {@code /godoxy/agent/}, as a GoDoxy server asks it when it adopts an agent:
 * {@code /info} ({@code {"version","name","runtime"}}), the legacy plain-text {@code /version}, {@code /name} and
 * {@code /runtime}, and {@code /health} (route health checks with GoDoxy's parameters, status codes and
 * {@code {"healthy","detail","latency"}} answer, latency in nanoseconds as Go's {@code time.Duration}). Requests
 * reach it through the HTTPS API route, so only clients with a certificate from the server's CA get here.
 */
final class GodoxyAgentApi {
    /** The path prefix of the agent API. */
    static final String PREFIX = "/godoxy/agent/";
    private static final Set<String> STREAM_SCHEMES = Set.of("tcp", "tcp4", "tcp6", "udp", "udp4", "udp6");

    private final String name;
    private final String runtime;
    private final String version;
    private final RouteHealth health;

    GodoxyAgentApi(String name, String runtime, RouteHealth health) {
        this.name = name;
        this.runtime = runtime;
        this.version = godoxyVersion(projectVersion());
        this.health = health;
    }

    /** The project's version ({@code 0.1.0-SNAPSHOT}), from the resource Maven fills in. */
    static String projectVersion() {
        try (InputStream in = GodoxyAgentApi.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            String v = p.getProperty("version", "");
            return v.isEmpty() || v.startsWith("$") ? "0.0.0" : v;
        } catch (IOException e) {
            return "0.0.0";
        }
    }

    /** GoDoxy's form: {@code v} and three numbers ({@code 0.1.0-SNAPSHOT} is {@code v0.1.0}). */
    static String godoxyVersion(String projectVersion) {
        String core = projectVersion.split("[-+]", 2)[0];
        String[] parts = core.split("\\.");
        StringBuilder b = new StringBuilder("v");
        for (int i = 0; i < 3; i++) {
            String part = i < parts.length && parts[i].matches("\\d+") ? parts[i] : "0";
            b.append(i > 0 ? "." : "").append(part);
        }
        return b.toString();
    }

    String version() {
        return version;
    }

    /**
     * Answers a request under {@link #PREFIX}, or returns null for a path that is not the agent API's.
     *
     * @param request the request
     * @return the response, perhaps later (a health check), or null
     */
    CompletableFuture<FullHttpResponse> handle(FullHttpRequest request) {
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.path();
        if (!path.startsWith(PREFIX)) {
            return null;
        }
        String endpoint = path.substring(PREFIX.length());
        if (request.method() != HttpMethod.GET && request.method() != HttpMethod.HEAD) {
            return done(text(HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed\n"));
        }
        switch (endpoint) {
            case "info":
                return done(json(HttpResponseStatus.OK, "{\"version\":" + quote(version) + ",\"name\":" + quote(name)
                        + ",\"runtime\":" + quote(runtime) + "}"));
            case "version":
                return done(text(HttpResponseStatus.OK, version));
            case "name":
                return done(text(HttpResponseStatus.OK, name));
            case "runtime":
                return done(text(HttpResponseStatus.OK, runtime));
            case "health":
                return health(uri.parameters());
            default:
                return done(text(HttpResponseStatus.NOT_FOUND, "404 page not found\n"));
        }
    }

    private CompletableFuture<FullHttpResponse> health(Map<String, List<String>> query) {
        String scheme = first(query, "scheme");
        if (scheme.isEmpty()) {
            return done(text(HttpResponseStatus.BAD_REQUEST, "missing scheme\n"));
        }
        Duration timeout = timeout(first(query, "timeout"));
        String host = first(query, "host");
        switch (scheme) {
            case "fileserver":
                return done(text(HttpResponseStatus.NOT_IMPLEMENTED,
                        "fileserver checks are not supported: this agent serves no files\n"));
            case "h2c":
                return done(text(HttpResponseStatus.NOT_IMPLEMENTED, "h2c checks are not supported\n"));
            case "http":
            case "https":
                if (host.isEmpty()) {
                    return done(text(HttpResponseStatus.BAD_REQUEST, "missing host\n"));
                }
                return answer(health.check(scheme, host, null, first(query, "path"), timeout));
            default:
                if (!STREAM_SCHEMES.contains(scheme)) {
                    return done(text(HttpResponseStatus.BAD_REQUEST, "unknown scheme " + scheme + "\n"));
                }
                if (host.isEmpty()) {
                    return done(text(HttpResponseStatus.BAD_REQUEST, "missing host\n"));
                }
                return answer(health.check(scheme, host, first(query, "port"), null, timeout));
        }
    }

    private static CompletableFuture<FullHttpResponse> answer(CompletableFuture<RouteHealth.Result> check) {
        return check.handle((r, e) -> {
            if (e != null) {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof RouteHealth.Refused) {
                    RouteHealth.Refused refused = (RouteHealth.Refused) cause;
                    return text(HttpResponseStatus.valueOf(refused.status), refused.getMessage() + "\n");
                }
                return text(HttpResponseStatus.BAD_GATEWAY, cause + "\n");
            }
            return json(HttpResponseStatus.OK, "{\"healthy\":" + r.healthy() + ",\"detail\":" + quote(r.detail())
                    + ",\"latency\":" + r.latency().toNanos() + "}");
        });
    }

    /** GoDoxy's rule: milliseconds; empty or 0 is the default; capped here. */
    static Duration timeout(String ms) {
        long v;
        try {
            v = ms.isEmpty() ? 0 : Long.parseLong(ms);
        } catch (NumberFormatException e) {
            v = 0;
        }
        if (v <= 0) {
            return RouteHealth.DEFAULT_TIMEOUT;
        }
        Duration d = Duration.ofMillis(v);
        return d.compareTo(RouteHealth.MAX_TIMEOUT) > 0 ? RouteHealth.MAX_TIMEOUT : d;
    }

    private static String first(Map<String, List<String>> query, String key) {
        List<String> v = query.get(key);
        return v == null || v.isEmpty() ? "" : v.get(0);
    }

    private static CompletableFuture<FullHttpResponse> done(FullHttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    static FullHttpResponse text(HttpResponseStatus status, String body) {
        return response(status, body, "text/plain; charset=utf-8");
    }

    static FullHttpResponse json(HttpResponseStatus status, String body) {
        return response(status, body + "\n", "application/json");
    }

    static FullHttpResponse response(HttpResponseStatus status, String body, String type) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }

    /** A JSON string literal, escaped as the access log escapes (one rule for both). */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        AccessLog.quote(b, s);
        return b.toString();
    }
}

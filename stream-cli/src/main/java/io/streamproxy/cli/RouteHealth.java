package io.streamproxy.cli;

import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.protocol.HostSyntax;
import io.streamproxy.spi.DurationText;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The route health checks of the GoDoxy agent API, truthful and bounded: {@code tcp*} connects; {@code http} and
 * {@code https} send {@code HEAD} and report the status (an https destination's certificate is not checked, as
 * GoDoxy does); {@code udp*} sends a one-byte datagram (a NUL; the JDK sends no empty datagram) and reports
 * unhealthy when an ICMP port-unreachable comes back
 * within the timeout (GoDoxy's own UDP check only resolves). The server's destination policy applies: a destination
 * it refuses is never contacted. The timeout is capped, and checks run on a small pool with a bounded queue.
 */
final class RouteHealth implements Closeable {
    /** The timeout when the request names none. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** The longest timeout a request may ask for. */
    static final Duration MAX_TIMEOUT = Duration.ofSeconds(30);
    private static final int THREADS = 16;
    private static final int QUEUE = 256;

    /** A check's answer: healthy or not, what was found, how long it took. */
    record Result(boolean healthy, String detail, Duration latency) {
    }

    /** A request the checks refuse: the HTTP status and the text GoDoxy gets. */
    static final class Refused extends Exception {
        final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private final DestinationPolicy policy;
    private final ThreadPoolExecutor pool;

    RouteHealth(DestinationPolicy policy) {
        this.policy = policy;
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 10, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE),
                new NamedThreads("stream-proxy-agent-health"));
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Starts a check.
     *
     * @param scheme  tcp, tcp4, tcp6, udp, udp4, udp6, http or https
     * @param host    the host, with or without a port ({@code [v6]:port} for IPv6 with a port)
     * @param port    the port when {@code host} has none, or null
     * @param path    the path of an http check, or null
     * @param timeout the bound, already capped
     * @return the result; fails with {@link Refused} for a request to refuse
     */
    CompletableFuture<Result> check(String scheme, String host, String port, String path, Duration timeout) {
        CompletableFuture<Result> result = new CompletableFuture<>();
        try {
            pool.execute(() -> {
                try {
                    result.complete(run(scheme, host, port, path, timeout));
                } catch (Refused e) {
                    result.completeExceptionally(e);
                } catch (RuntimeException e) {
                    result.completeExceptionally(new Refused(502, e.toString()));
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new Refused(503, "too many health checks at once"));
        }
        return result;
    }

    private Result run(String scheme, String host, String port, String path, Duration timeout) throws Refused {
        boolean http = scheme.equals("http") || scheme.equals("https");
        int defaultPort = scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
        Target target = target(host, port, defaultPort);
        long deadline = System.nanoTime() + timeout.toNanos();
        List<InetAddress> addresses = resolve(target, family(scheme));
        if (scheme.startsWith("udp")) {
            return udp(target, addresses.get(0), deadline, timeout);
        }
        long start = System.nanoTime();
        IOException last = null;
        for (InetAddress a : addresses) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                break;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(a, target.destination.port()), (int) left);
                if (!http) {
                    return new Result(true, "connected to " + addressText(a, target.destination.port()),
                            Duration.ofNanos(System.nanoTime() - start));
                }
                return httpHead(s, scheme.equals("https"), target, path, deadline, start);
            } catch (SocketTimeoutException e) {
                return new Result(false, "no answer within " + DurationText.of(timeout),
                        Duration.ofNanos(System.nanoTime() - start));
            } catch (IOException e) {
                last = e;
            }
        }
        return new Result(false, last == null ? "no answer within " + DurationText.of(timeout)
                : String.valueOf(last.getMessage()), Duration.ofNanos(System.nanoTime() - start));
    }

    private record Target(Destination destination, HostSyntax.Host host) {
    }

    /** Parses host and port as GoDoxy does ({@code port} together with a host that has one is refused). */
    static Target target(String host, String port, int defaultPort) throws Refused {
        String h = host;
        String p = null;
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            if (close < 0) {
                throw new Refused(400, "bad host " + h);
            }
            if (close + 1 < h.length()) {
                if (h.charAt(close + 1) != ':') {
                    throw new Refused(400, "bad host " + h);
                }
                p = h.substring(close + 2);
            }
            h = h.substring(1, close);
        } else if (h.indexOf(':') >= 0 && h.indexOf(':') == h.lastIndexOf(':')) {
            p = h.substring(h.indexOf(':') + 1);
            h = h.substring(0, h.indexOf(':'));
        }
        if (p != null && port != null && !port.isEmpty()) {
            throw new Refused(400, "port and host with port cannot both be provided");
        }
        if (p == null) {
            p = port == null || port.isEmpty() ? null : port;
        }
        int n;
        if (p == null) {
            if (defaultPort < 0) {
                throw new Refused(400, "missing port");
            }
            n = defaultPort;
        } else {
            try {
                n = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new Refused(400, "bad port " + p);
            }
            if (n < 1 || n > 65535) {
                throw new Refused(400, "port " + n + " is outside 1..65535");
            }
        }
        HostSyntax.Host parsed;
        try {
            parsed = HostSyntax.parse(h);
        } catch (IllegalArgumentException e) {
            throw new Refused(400, e.getMessage());
        }
        return new Target(Destination.of(h, n), parsed);
    }

    private static Class<? extends InetAddress> family(String scheme) {
        if (scheme.endsWith("4")) {
            return Inet4Address.class;
        }
        if (scheme.endsWith("6")) {
            return Inet6Address.class;
        }
        return InetAddress.class;
    }

    /** The addresses to contact: resolved once, of the scheme's family, each allowed by the policy. */
    private List<InetAddress> resolve(Target t, Class<? extends InetAddress> family) throws Refused {
        if (!policy.allows(t.destination)) {
            throw new Refused(403, t.destination + " is not allowed by policy");
        }
        List<InetAddress> all;
        if (t.host.isLiteral()) {
            all = List.of(t.host.address());
        } else {
            try {
                all = List.of(InetAddress.getAllByName(t.destination.host()));
            } catch (IOException e) {
                throw new Refused(502, "lookup " + t.destination.host() + ": no such host");
            }
        }
        List<InetAddress> allowed = new ArrayList<>();
        boolean denied = false;
        for (InetAddress a : all) {
            if (!family.isInstance(a)) {
                continue;
            }
            if (policy.allows(t.destination, a)) {
                allowed.add(a);
            } else {
                denied = true;
            }
        }
        if (allowed.isEmpty()) {
            if (denied) {
                throw new Refused(403, t.destination + " is not allowed by policy");
            }
            throw new Refused(502, t.destination.host() + " has no " + (family == Inet4Address.class ? "IPv4 "
                    : family == Inet6Address.class ? "IPv6 " : "") + "address");
        }
        return allowed;
    }

    private static Result udp(Target t, InetAddress address, long deadline, Duration timeout) {
        long start = System.nanoTime();
        InetSocketAddress to = new InetSocketAddress(address, t.destination.port());
        try (DatagramChannel c = DatagramChannel.open(); Selector selector = Selector.open()) {
            c.connect(to);
            c.configureBlocking(false);
            c.register(selector, SelectionKey.OP_READ);
            c.write(ByteBuffer.allocate(1)); // one NUL byte: the JDK does not send an empty datagram
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            if (selector.select(left) == 0) {
                throw new SocketTimeoutException();
            }
            c.read(ByteBuffer.allocate(1)); // an ICMP error surfaces here
            return new Result(true, "answered from " + addressText(address, t.destination.port()),
                    Duration.ofNanos(System.nanoTime() - start));
        } catch (PortUnreachableException e) {
            return new Result(false, "ICMP port unreachable from " + addressText(address, t.destination.port()),
                    Duration.ofNanos(System.nanoTime() - start));
        } catch (SocketTimeoutException e) {
            return new Result(true, "no ICMP port unreachable within " + DurationText.of(timeout)
                    + " (UDP cannot confirm more)",
                    Duration.ofNanos(System.nanoTime() - start));
        } catch (IOException e) {
            return new Result(false, String.valueOf(e.getMessage()), Duration.ofNanos(System.nanoTime() - start));
        }
    }

    private static Result httpHead(Socket raw, boolean tls, Target t, String path, long deadline, long start)
            throws IOException {
        long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
        Socket s = raw;
        if (tls) {
            SSLSocket ssl = (SSLSocket) trustAll().getSocketFactory().createSocket(raw,
                    t.destination.host(), t.destination.port(), false);
            if (!t.host.isLiteral()) {
                SSLParameters p = ssl.getSSLParameters();
                p.setServerNames(List.of(new SNIHostName(t.host.name())));
                ssl.setSSLParameters(p);
            }
            ssl.startHandshake();
            s = ssl;
        }
        String target = path == null || path.isEmpty() ? "/" : path.startsWith("/") ? path : "/" + path;
        String hostHeader = t.destination.toString();
        OutputStream out = s.getOutputStream();
        out.write(("HEAD " + target + " HTTP/1.1\r\nHost: " + hostHeader
                + "\r\nUser-Agent: stream-proxy-agent\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String status = statusLine(s.getInputStream());
        Duration latency = Duration.ofNanos(System.nanoTime() - start);
        String[] parts = status.split(" ", 3);
        int code;
        try {
            code = parts.length >= 2 && parts[0].startsWith("HTTP/") ? Integer.parseInt(parts[1]) : -1;
        } catch (NumberFormatException e) {
            code = -1;
        }
        if (code < 0) {
            return new Result(false, "not an HTTP answer: " + status, latency);
        }
        return new Result(code < 500, "HTTP " + status.substring(status.indexOf(' ') + 1), latency);
    }

    private static String statusLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n' && b.length() < 256) {
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    private static String addressText(InetAddress a, int port) {
        return new InetSocketAddress(a, port).toString().replaceFirst("^[^/]*/", "");
    }

    private static SSLContext trustAll() throws IOException {
        try {
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                    // a route health check asks "is it up", as GoDoxy's does: the destination's certificate is not judged
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            return c;
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}

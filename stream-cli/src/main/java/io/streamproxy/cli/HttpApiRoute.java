package io.streamproxy.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.streamproxy.TlsRoute;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The server's HTTPS API ({@code GET /healthz}, {@code GET /metrics} and the GoDoxy agent API under
 * {@code /godoxy/agent/}) as a {@link TlsRoute} on the TLS port of whichever transport serves TCP: clients that
 * negotiate {@code http/1.1}, or no ALPN id at all (GoDoxy's client), come here after the transport's own mutual-TLS
 * handshake. Requests are parsed by Netty's HTTP/1.1 codec running in an {@link EmbeddedChannel} per connection, fed
 * with the route's plaintext bytes, so the API is the same code on every transport. Requests of one connection are
 * answered in order, one at a time (a health check answers later, off the transport's thread); a request that
 * cannot be decoded is answered 400 and the connection closed; at most {@link #MAX_CONNECTIONS} connections are
 * served at once, and the transport closes one that stays idle for {@link TlsRoute#IDLE_TIMEOUT_SECONDS}.
 */
final class HttpApiRoute implements TlsRoute {
    private static final int MAX_REQUEST = 8192;
    /** API connections open at once, at most; more are closed at once (the transport's idle bound reaps the rest). */
    static final int MAX_CONNECTIONS = 64;

    private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();

    private final Metrics metrics;
    private final GodoxyAgentApi agent;

    private final java.util.function.Supplier<String> problem;

    HttpApiRoute(Metrics metrics, GodoxyAgentApi agent) {
        this(metrics, agent, () -> null);
    }

    /** With {@code problem}: while it says something, {@code /healthz} answers 503 with it ({@code draining}...). */
    HttpApiRoute(Metrics metrics, GodoxyAgentApi agent, java.util.function.Supplier<String> problem) {
        this.metrics = metrics;
        this.agent = agent;
        this.problem = problem;
    }

    @Override
    public List<String> protocols() {
        return List.of("http/1.1");
    }

    @Override
    public boolean servesNoAlpn() {
        return true;
    }

    @Override
    public Connection open(Channel channel) {
        if (connections.incrementAndGet() > MAX_CONNECTIONS) {
            connections.decrementAndGet();
            channel.close();
            return new Connection() {
                @Override
                public void received(ByteBuffer data) {
                    // closed: nothing is read
                }

                @Override
                public void closed() {
                    // not counted
                }
            };
        }
        Api api = new Api();
        EmbeddedChannel http = new EmbeddedChannel(new HttpServerCodec(), new HttpObjectAggregator(MAX_REQUEST), api);
        api.http = http;
        api.channel = channel;
        return new Connection() {
            @Override
            public void received(ByteBuffer data) {
                ByteBuf in = Unpooled.buffer(data.remaining());
                in.writeBytes(data);
                synchronized (http) {
                    http.writeInbound(in);
                    api.flush();
                }
            }

            @Override
            public void closed() {
                synchronized (http) {
                    if (!api.closed) {
                        connections.decrementAndGet();
                    }
                    api.closed = true;
                    http.finishAndReleaseAll();
                }
            }
        };
    }

    /** Answers the requests of one connection in order; every call holds the connection's lock. */
    private final class Api extends SimpleChannelInboundHandler<FullHttpRequest> {
        EmbeddedChannel http;
        Channel channel;
        boolean closed;
        private boolean busy;
        private final java.util.ArrayDeque<FullHttpRequest> waiting = new java.util.ArrayDeque<>();

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            if (busy) {
                waiting.add(request.retain());
                return;
            }
            serve(ctx, request);
        }

        private void serve(ChannelHandlerContext ctx, FullHttpRequest request) {
            boolean keepAlive = HttpUtil.isKeepAlive(request) && request.decoderResult().isSuccess();
            CompletableFuture<FullHttpResponse> response = respond(request);
            if (response.isDone()) {
                send(ctx, response.join(), keepAlive);
                return;
            }
            busy = true;
            response.whenComplete((r, e) -> {
                synchronized (http) {
                    busy = false;
                    if (closed) {
                        if (r != null) {
                            r.release();
                        }
                        return;
                    }
                    send(ctx, r != null ? r : GodoxyAgentApi.text(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            String.valueOf(e) + "\n"), keepAlive);
                    FullHttpRequest next;
                    while (!busy && http.isOpen() && (next = waiting.poll()) != null) {
                        try {
                            serve(ctx, next);
                        } finally {
                            next.release();
                        }
                    }
                    flush();
                }
            });
        }

        private CompletableFuture<FullHttpResponse> respond(FullHttpRequest request) {
            if (request.decoderResult().isFailure()) {
                return CompletableFuture.completedFuture(
                        GodoxyAgentApi.text(HttpResponseStatus.BAD_REQUEST, "bad request\n"));
            }
            CompletableFuture<FullHttpResponse> fromAgent = agent == null ? null : agent.handle(request);
            if (fromAgent != null) {
                return fromAgent;
            }
            String path = request.uri();
            int q = path.indexOf('?');
            if (q >= 0) {
                path = path.substring(0, q);
            }
            FullHttpResponse response;
            if (request.method() != HttpMethod.GET) {
                response = GodoxyAgentApi.text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n");
            } else if (path.equals("/healthz")) {
                String wrong = problem.get();
                response = wrong != null ? GodoxyAgentApi.text(HttpResponseStatus.SERVICE_UNAVAILABLE, wrong)
                        : GodoxyAgentApi.text(HttpResponseStatus.OK, "ok");
            } else if (path.equals("/metrics")) {
                response = GodoxyAgentApi.response(HttpResponseStatus.OK, metrics.scrape(),
                        "text/plain; version=0.0.4; charset=utf-8");
            } else {
                response = GodoxyAgentApi.text(HttpResponseStatus.NOT_FOUND, "not found\n");
            }
            return CompletableFuture.completedFuture(response);
        }

        private void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            send(ctx, GodoxyAgentApi.text(HttpResponseStatus.BAD_REQUEST, "bad request\n"), false);
        }

        /** Sends what the codec wrote to the client; closes the connection once the codec closed. */
        void flush() {
            Object out;
            while ((out = http.readOutbound()) != null) {
                ByteBuf b = (ByteBuf) out;
                try {
                    channel.write(b.nioBuffer());
                } finally {
                    b.release();
                }
            }
            if (!http.isOpen()) {
                channel.close();
            }
        }
    }
}

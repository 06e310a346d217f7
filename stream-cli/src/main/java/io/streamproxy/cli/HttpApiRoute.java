package io.streamproxy.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.streamproxy.TlsRoute;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The server's HTTPS API ({@code GET /healthz}, {@code GET /metrics}) as a {@link TlsRoute} on the TLS port of
 * whichever transport serves TCP: clients that negotiate {@code http/1.1}, or no ALPN id at all, come here after the
 * transport's own mutual-TLS handshake. Requests are parsed by Netty's HTTP/1.1 codec running in an
 * {@link EmbeddedChannel} per connection, fed with the route's plaintext bytes, so the API is the same code on
 * every transport. A request that cannot be decoded is answered 400 and the connection closed.
 */
final class HttpApiRoute implements TlsRoute {
    private static final int MAX_REQUEST = 8192;

    private final Metrics metrics;

    HttpApiRoute(Metrics metrics) {
        this.metrics = metrics;
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
        EmbeddedChannel http = new EmbeddedChannel(new HttpServerCodec(), new HttpObjectAggregator(MAX_REQUEST),
                new Api(metrics));
        return new Connection() {
            @Override
            public void received(ByteBuffer data) {
                ByteBuf in = Unpooled.buffer(data.remaining());
                in.writeBytes(data);
                http.writeInbound(in);
                drain();
            }

            @Override
            public void closed() {
                http.finishAndReleaseAll();
            }

            private void drain() {
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
        };
    }

    /** {@code /healthz} and {@code /metrics}. */
    private static final class Api extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Metrics metrics;

        Api(Metrics metrics) {
            this.metrics = metrics;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            if (request.decoderResult().isFailure()) {
                ctx.writeAndFlush(text(HttpResponseStatus.BAD_REQUEST, "bad request\n", "text/plain"))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            String path = request.uri();
            int q = path.indexOf('?');
            if (q >= 0) {
                path = path.substring(0, q);
            }
            FullHttpResponse response;
            if (request.method() != HttpMethod.GET) {
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
            } else if (path.equals("/healthz")) {
                response = text(HttpResponseStatus.OK, "ok", "text/plain");
            } else if (path.equals("/metrics")) {
                response = text(HttpResponseStatus.OK, metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8");
            } else {
                response = text(HttpResponseStatus.NOT_FOUND, "not found\n", "text/plain");
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.writeAndFlush(text(HttpResponseStatus.BAD_REQUEST, "bad request\n", "text/plain"))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body, String type) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            return r;
        }
    }
}

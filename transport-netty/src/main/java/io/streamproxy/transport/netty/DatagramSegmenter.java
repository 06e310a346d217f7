package io.streamproxy.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.epoll.SegmentedDatagramPacket;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends each run of equal-size datagrams to one peer that a flush releases as one UDP GSO send ({@code
 * UDP_SEGMENT}): the kernel cuts it back into the same datagrams, so peers see no difference, but the run crosses the
 * socket layer (and loopback) once instead of once per datagram. It sits between the flush consolidation and the
 * socket, so a run is what one event-loop round produced. Only datagrams of at most {@link #MAX_SEGMENT} bytes are
 * joined (a segment must fit the path's MTU); a send the kernel refuses (no GSO on the route, an MTU too small) is
 * sent again datagram by datagram, and the channel stops joining.
 */
final class DatagramSegmenter extends ChannelOutboundHandlerAdapter {
    static final String NAME = "stream-datagram-segmenter";
    private static final Logger LOG = LoggerFactory.getLogger(DatagramSegmenter.class);
    /** The largest datagram joined: what fits a 1500-byte MTU under IPv6 and UDP headers. */
    static final int MAX_SEGMENT = 1500 - 40 - 8;
    /** The kernel's bound on segments per send (UDP_MAX_SEGMENTS is 64 on older kernels). */
    static final int MAX_SEGMENTS = 64;
    /** The bound on one send's payload: an IP datagram's 64 KiB less the headers. */
    static final int MAX_BYTES = 65535 - 40 - 8;

    private final List<Object> held = new ArrayList<>();
    private final List<ChannelPromise> promises = new ArrayList<>();
    private boolean joining = true;
    /** Runs sent as one UDP_SEGMENT send, and the datagrams in them. */
    private long joinedSends;
    private long joinedDatagrams;

    /** Runs of datagrams this channel sent as one UDP_SEGMENT send so far. */
    long joinedSends() {
        return joinedSends;
    }

    /** Datagrams this channel sent inside such runs so far. */
    long joinedDatagrams() {
        return joinedDatagrams;
    }

    /** Whether this channel still joins runs (it stops after the kernel refused one). */
    boolean joining() {
        return joining;
    }

    /** Whether this host's Netty can send UDP_SEGMENT (epoll with kernel and native support). */
    static boolean supported() {
        return SegmentedDatagramPacket.isSupported();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (joining && size(msg) >= 0) {
            held.add(msg);
            promises.add(promise);
            return;
        }
        sendHeld(ctx);
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        sendHeld(ctx);
        ctx.flush();
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        sendHeld(ctx);
        ctx.close(promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        // the channel went away without a close through the pipeline (Netty closes on some errors itself)
        for (int i = 0; i < held.size(); i++) {
            ReferenceCountUtil.release(held.get(i));
            promises.get(i).tryFailure(new java.nio.channels.ClosedChannelException());
        }
        held.clear();
        promises.clear();
    }

    /** The size of a datagram this handler may join, or -1 for anything else. */
    private static int size(Object msg) {
        if (msg instanceof io.netty.channel.unix.SegmentedDatagramPacket) { // already a run (epoll's is one too)
            return -1;
        }
        int n = msg instanceof DatagramPacket ? ((DatagramPacket) msg).content().readableBytes()
                : msg instanceof ByteBuf ? ((ByteBuf) msg).readableBytes() : -1;
        return n > 0 && n <= MAX_SEGMENT ? n : -1;
    }

    private static InetSocketAddress recipient(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket) {
            return ((DatagramPacket) msg).recipient();
        }
        java.net.SocketAddress peer = ctx.channel().remoteAddress(); // a connected channel's
        return peer instanceof InetSocketAddress ? (InetSocketAddress) peer : null;
    }

    private static ByteBuf content(Object msg) {
        return msg instanceof DatagramPacket ? ((DatagramPacket) msg).content() : (ByteBuf) msg;
    }

    private void sendHeld(ChannelHandlerContext ctx) {
        int n = held.size();
        int i = 0;
        while (i < n) {
            Object first = held.get(i);
            int size = size(first);
            InetSocketAddress to = recipient(ctx, first);
            int j = i + 1;
            int bytes = size;
            while (j < n && j - i < MAX_SEGMENTS && bytes + size <= MAX_BYTES && size(held.get(j)) == size
                    && to != null && (first instanceof DatagramPacket) == (held.get(j) instanceof DatagramPacket)
                    && to.equals(recipient(ctx, held.get(j)))) {
                bytes += size;
                j++;
            }
            if (j - i == 1 || to == null) {
                ctx.write(first, promises.get(i));
            } else {
                sendJoined(ctx, i, j, size, to);
            }
            i = j;
        }
        held.clear();
        promises.clear();
    }

    private void sendJoined(ChannelHandlerContext ctx, int from, int to, int size, InetSocketAddress recipient) {
        CompositeByteBuf joined = ctx.alloc().compositeDirectBuffer(to - from);
        ByteBuf[] parts = new ByteBuf[to - from];
        ChannelPromise[] each = new ChannelPromise[to - from];
        boolean addressed = held.get(from) instanceof DatagramPacket;
        for (int k = from; k < to; k++) {
            ByteBuf c = content(held.get(k));
            // the message's reference goes to the joined buffer (which leaves the part's indexes alone); one more
            // is kept until the send is done, to send the part on its own if the joined send is refused
            parts[k - from] = c.retain();
            joined.addComponent(true, c);
            each[k - from] = promises.get(k);
        }
        joinedSends++;
        joinedDatagrams += to - from;
        ctx.write(new SegmentedDatagramPacket(joined, size, recipient)).addListener(f -> {
            if (f.isSuccess()) {
                for (int k = 0; k < parts.length; k++) {
                    parts[k].release();
                    if (!each[k].isVoid()) {
                        each[k].trySuccess();
                    }
                }
                return;
            }
            if (joining) {
                joining = false;
                LOG.debug("{}: UDP_SEGMENT send refused ({}), sending datagrams one by one from now on",
                        ctx.channel(), String.valueOf(f.cause()));
            }
            ctx.executor().execute(() -> { // after the write in progress, as a fresh one
                for (int k = 0; k < parts.length; k++) {
                    ctx.write(addressed ? new DatagramPacket(parts[k], recipient) : parts[k], each[k]);
                }
                ctx.flush();
            });
        });
    }
}

package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Runs of equal-size datagrams leave as one UDP_SEGMENT send and arrive as the same datagrams, in order. */
class DatagramSegmenterTest {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    /** The sizes written in one round: two runs of equal sizes around a shorter datagram. */
    private static final int[] SIZES = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 500,
        1000, 1000, 1000, 1000, 1000, 1000};

    private static ByteBuf datagram(int index, int size) {
        ByteBuf b = Unpooled.directBuffer(size);
        for (int i = 0; i < size; i++) {
            b.writeByte((index * 31 + i) & 0xff);
        }
        return b;
    }

    private static void assertDatagram(byte[] got, int index, int size) {
        assertThat(got).as("datagram %d", index).hasSize(size);
        for (int i = 0; i < size; i++) {
            if (got[i] != (byte) ((index * 31 + i) & 0xff)) {
                throw new AssertionError("datagram " + index + " differs at byte " + i);
            }
        }
    }

    /** Writes SIZES to a peer in one event-loop round and flushes once. */
    private static void writeRound(Channel ch, InetSocketAddress to) throws Exception {
        ch.eventLoop().submit(() -> {
            for (int i = 0; i < SIZES.length; i++) {
                ch.write(new DatagramPacket(datagram(i, SIZES[i]), to), ch.voidPromise());
            }
            ch.flush();
        }).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aRoundOfEqualDatagramsLeavesInOneSendPerRun_andAPlainSocketGetsEachDatagram() throws Exception {
        assumeTrue(Epoll.isAvailable() && DatagramSegmenter.supported(), "needs epoll with UDP_SEGMENT");
        NettyRuntime runtime = NettyRuntime.from(Map.of());
        EventLoopGroup group = runtime.newGroup("segmenter-test", 1);
        try (DatagramSocket receiver = new DatagramSocket(LOOPBACK)) {
            receiver.setSoTimeout(5000);
            Channel sender = runtime.plainDatagramBootstrap(group, new ChannelInboundHandlerAdapter())
                    .bind(LOOPBACK).sync().channel();
            writeRound(sender, (InetSocketAddress) receiver.getLocalSocketAddress());
            for (int i = 0; i < SIZES.length; i++) {
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
                receiver.receive(p);
                assertDatagram(java.util.Arrays.copyOf(p.getData(), p.getLength()), i, SIZES[i]);
            }
            DatagramSegmenter segmenter = (DatagramSegmenter) sender.pipeline().get(DatagramSegmenter.NAME);
            long[] joined = sender.eventLoop().submit(() -> new long[] {segmenter.joinedSends(),
                segmenter.joinedDatagrams()}).get(5, TimeUnit.SECONDS);
            assertThat(joined).as("sends of runs, datagrams in them").containsExactly(2, 16);
            sender.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aDtlsSocketReadingWithGro_handsOnEachDatagramOfARun() throws Exception {
        assumeTrue(Epoll.isAvailable() && DatagramSegmenter.supported(), "needs epoll with UDP_SEGMENT");
        NettyRuntime runtime = NettyRuntime.from(Map.of());
        EventLoopGroup group = runtime.newGroup("segmenter-test", 1);
        BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        try {
            Channel receiver = runtime.dtlsBootstrap(group, new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf c = ((DatagramPacket) msg).content();
                    byte[] b = new byte[c.readableBytes()];
                    c.readBytes(b);
                    received.add(b);
                    ReferenceCountUtil.release(msg);
                }
            }).bind(LOOPBACK).sync().channel();
            Channel sender = runtime.plainDatagramBootstrap(group, new ChannelInboundHandlerAdapter())
                    .bind(LOOPBACK).sync().channel();
            writeRound(sender, (InetSocketAddress) receiver.localAddress());
            for (int i = 0; i < SIZES.length; i++) {
                byte[] got = received.poll(5, TimeUnit.SECONDS);
                assertThat(got).as("datagram %d within 5 s", i).isNotNull();
                assertDatagram(got, i, SIZES[i]);
            }
            assertThat(received.poll(200, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
            sender.close().sync();
            receiver.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Fails every joined send, as a kernel without GSO on the route does; passes the rest on. */
    private static final class RefusesJoined extends ChannelOutboundHandlerAdapter {
        int refused;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof io.netty.channel.unix.SegmentedDatagramPacket) {
                refused++;
                ReferenceCountUtil.release(msg);
                promise.setFailure(new IOException("sendmmsg(..) failed: Invalid argument"));
                return;
            }
            ctx.write(msg, promise);
        }
    }

    @Test
    void aRefusedRun_goesOutDatagramByDatagram_andTheChannelStopsJoining() {
        RefusesJoined kernel = new RefusesJoined();
        DatagramSegmenter segmenter = new DatagramSegmenter();
        EmbeddedChannel ch = new EmbeddedChannel(kernel, segmenter);
        InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), 9);
        List<ChannelFuture> writes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            writes.add(ch.write(new DatagramPacket(datagram(i, 800), to)));
        }
        ch.flush();
        ch.runPendingTasks();
        assertThat(kernel.refused).as("joined sends refused").isEqualTo(1);
        for (int i = 0; i < 3; i++) {
            DatagramPacket p = ch.readOutbound();
            assertThat(p).as("datagram %d sent again on its own", i).isNotNull();
            assertThat(p.recipient()).isEqualTo(to);
            byte[] b = new byte[p.content().readableBytes()];
            p.content().readBytes(b);
            assertDatagram(b, i, 800);
            p.release();
            assertThat(writes.get(i).isSuccess()).as("write %d succeeded", i).isTrue();
        }
        assertThat(segmenter.joining()).isFalse();
        ch.write(new DatagramPacket(datagram(3, 800), to));
        ch.write(new DatagramPacket(datagram(4, 800), to));
        ch.flush();
        assertThat(kernel.refused).as("no more joined sends").isEqualTo(1);
        for (int i = 3; i < 5; i++) {
            DatagramPacket p = ch.readOutbound();
            assertThat(p).isNotNull();
            p.release();
        }
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void datagramsHeldWhenTheChannelGoesAwayWithoutAClose_areReleasedAndTheirWritesFail() {
        DatagramSegmenter segmenter = new DatagramSegmenter();
        EmbeddedChannel ch = new EmbeddedChannel(segmenter);
        InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), 9);
        ByteBuf content = datagram(0, 800);
        ChannelFuture write = ch.write(new DatagramPacket(content, to));
        assertThat(write.isDone()).as("held until a flush").isFalse();
        ch.pipeline().remove(segmenter);
        assertThat(write.cause()).isInstanceOf(java.nio.channels.ClosedChannelException.class);
        assertThat(content.refCnt()).as("released").isZero();
        ch.finishAndReleaseAll();
    }
}

package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The event loops run on Netty's own threads: on any other thread Netty's recyclers make a new object for every
 * write (an outbound buffer entry) and its buffer allocator serves every thread from shared, locked pools.
 */
class NettyRuntimeTest {

    @Test
    void eventLoopsRunOnNettysOwnDaemonThreads_namedByTheirGroup() throws Exception {
        for (String io : Epoll.isAvailable() ? List.of("epoll", "nio") : List.of("nio")) {
            EventLoopGroup group = NettyRuntime.from(Map.of("netty.io", io)).newGroup("runtime-test", 2);
            try {
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    EventLoop loop = group.next();
                    boolean own = loop.submit(FastThreadLocalThread::currentThreadWillCleanupFastThreadLocals)
                            .get(5, TimeUnit.SECONDS);
                    assertThat(own).as(io + ": runs on a FastThreadLocalThread that cleans up").isTrue();
                    threads.add(loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS));
                }
                for (Thread t : threads) {
                    assertThat(t.isDaemon()).as(io).isTrue();
                    assertThat(t.getName()).as(io).matches("runtime-test-\\d+");
                }
                assertThat(threads.get(0)).as(io).isNotSameAs(threads.get(1));
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        }
    }
}

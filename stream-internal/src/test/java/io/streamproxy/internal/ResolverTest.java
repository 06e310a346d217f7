package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ResolverTest {
    private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

    @Test
    void aBurst_isQueued_neverRefused_andEveryAnswerArrives() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        try (Resolver r = new Resolver("test-resolve", host -> {
            try {
                release.await(20, TimeUnit.SECONDS); // every thread busy until the burst is queued
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new InetAddress[] {InetAddress.getByAddress(host, new byte[] {10, 0, 0, 1})};
        })) {
            for (int i = 0; i < 200; i++) {
                r.resolve("h" + i + ".example", System.nanoTime() + MINUTE, Runnable::run,
                        Resolver.Callback.of(a -> answers.add(a.get(0).getHostName()), answers::add));
            }
            release.countDown();
            for (int i = 0; i < 200; i++) {
                assertThat(answers.poll(20, TimeUnit.SECONDS)).isNotNull().endsWith(".example");
            }
        }
    }

    @Test
    void aLookupStillQueuedAtItsDeadline_isNotStarted() throws Exception {
        LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        try (Resolver r = new Resolver("test-resolve", host -> {
            throw new AssertionError("must not be looked up");
        })) {
            r.resolve("late.example", System.nanoTime() - 1, Runnable::run,
                    Resolver.Callback.of(a -> answers.add("resolved"), answers::add));
            assertThat(answers.poll(20, TimeUnit.SECONDS)).contains("dial timeout");
        }
    }

    @Test
    void unknownHost_isAFailure() throws Exception {
        LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        try (Resolver r = new Resolver("test-resolve", host -> {
            throw new UnknownHostException(host);
        })) {
            r.resolve("nx.example", System.nanoTime() + MINUTE, Runnable::run,
                    Resolver.Callback.of(a -> answers.add("resolved " + List.copyOf(a)), answers::add));
            assertThat(answers.poll(20, TimeUnit.SECONDS)).isEqualTo("unknown host");
        }
    }
}

package io.streamproxy.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * Daemon threads named {@code prefix-N}, so that tests and thread dumps can tell whose they are. The one thread
 * factory of every transport. Internal: not API.
 */
public final class NamedThreads implements ThreadFactory {
    private final String prefix;
    private final BiFunction<Runnable, String, Thread> constructor;
    private final AtomicInteger counter = new AtomicInteger();

    /**
     * Creates the factory of plain threads.
     *
     * @param prefix the name of the threads, before {@code -N}
     */
    public NamedThreads(String prefix) {
        this(prefix, Thread::new);
    }

    /**
     * Creates the factory of threads of a given kind, for a library whose threads must be its own (Netty's event
     * loops pool their objects only on its {@code FastThreadLocalThread}s).
     *
     * @param prefix      the name of the threads, before {@code -N}
     * @param constructor makes an unstarted thread that runs the task under the name
     */
    public NamedThreads(String prefix, BiFunction<Runnable, String, Thread> constructor) {
        this.prefix = prefix;
        this.constructor = constructor;
    }

    @Override
    public Thread newThread(Runnable r) {
        Thread t = constructor.apply(r, prefix + "-" + counter.incrementAndGet());
        t.setDaemon(true);
        return t;
    }
}

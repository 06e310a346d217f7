package io.streamproxy.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Daemon threads named {@code prefix-N}, so that tests and thread dumps can tell whose they are. The one thread
 * factory of every transport. Internal: not API.
 */
public final class NamedThreads implements ThreadFactory {
    private static final Logger LOG = LoggerFactory.getLogger(NamedThreads.class);
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

    /**
     * Creates the factory of threads that each block on one connection's sockets for the connection's life (the jdk
     * transport's handshake and relay threads): plain daemon threads, or, when the system property
     * {@code io.streamproxy.virtualThreads} is {@code true} on Java 24 and later (where a virtual thread waiting in a
     * {@code synchronized} block no longer holds its carrier, JEP 491), virtual threads. Virtual threads hold no
     * native stack, so ten thousand idle tunnels cost far less memory, but each wake-up of a relay goes through the
     * scheduler's carriers: measured, they cost a busy tunnel's round trip half again as much, so they are the
     * operator's choice for servers that hold many idle tunnels.
     *
     * @param prefix the name of the threads, before {@code -N}
     * @return the factory
     */
    public static ThreadFactory perConnection(String prefix) {
        if (!Boolean.getBoolean("io.streamproxy.virtualThreads")) {
            return new NamedThreads(prefix);
        }
        if (Runtime.version().feature() < 24) {
            LOG.warn("io.streamproxy.virtualThreads=true needs Java 24 or later (this is {}): {} threads are platform "
                    + "threads", Runtime.version().feature(), prefix);
            return new NamedThreads(prefix);
        }
        try {
            Class<?> builder = Class.forName("java.lang.Thread$Builder");
            Object virtual = Thread.class.getMethod("ofVirtual").invoke(null);
            Object named = builder.getMethod("name", String.class, long.class).invoke(virtual, prefix + "-", 1L);
            return (ThreadFactory) builder.getMethod("factory").invoke(named);
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("virtual threads could not be made ({}): {} threads are platform threads", e, prefix);
            return new NamedThreads(prefix);
        }
    }

    @Override
    public Thread newThread(Runnable r) {
        Thread t = constructor.apply(r, prefix + "-" + counter.incrementAndGet());
        t.setDaemon(true);
        return t;
    }
}

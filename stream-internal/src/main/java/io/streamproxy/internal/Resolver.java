package io.streamproxy.internal;

import java.io.Closeable;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import io.streamproxy.protocol.TunnelSession;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Name resolution for the dialler of every transport: asynchronous, queued (a burst waits its turn, it is never
 * refused), on threads of its own (never a relay, event loop or selector thread), and bounded by the caller's
 * deadline: a lookup still queued when its deadline passes is not started. It only resolves names: IP literals are
 * parsed by {@link io.streamproxy.protocol.HostSyntax} and never reach it, and the addresses it returns are the
 * ones dialled, after the policy has judged each of them (no second lookup). The result is handed to the caller's
 * executor (its event loop). Closing it stops its threads. Internal: not API.
 */
public final class Resolver implements Closeable {
    /** What a lookup answers. */
    public interface Callback {
        /**
         * The host resolved.
         *
         * @param addresses in the system resolver's order, never empty
         */
        void resolved(List<InetAddress> addresses);

        /**
         * The host did not resolve.
         *
         * @param why the reason
         */
        void failed(String why);

        /**
         * Builds a callback from two methods.
         *
         * @param resolved what gets the addresses
         * @param failed   what gets the reason
         * @return the callback
         */
        static Callback of(Consumer<List<InetAddress>> resolved, Consumer<String> failed) {
            return new Callback() {
                @Override
                public void resolved(List<InetAddress> addresses) {
                    resolved.accept(addresses);
                }

                @Override
                public void failed(String why) {
                    failed.accept(why);
                }
            };
        }
    }

    /** The lookup itself, replaceable in tests. */
    @FunctionalInterface
    public interface Lookup {
        /**
         * Resolves a name.
         *
         * @param host the name
         * @return its addresses
         * @throws UnknownHostException if it has none
         */
        InetAddress[] lookup(String host) throws UnknownHostException;
    }

    private static final int THREADS = 8;

    private final ThreadPoolExecutor pool;
    private final Lookup lookup;

    /**
     * Creates a resolver on the system's resolver ({@link InetAddress#getAllByName}).
     *
     * @param threadName the name of its threads
     */
    public Resolver(String threadName) {
        this(threadName, InetAddress::getAllByName);
    }

    /**
     * Creates a resolver on a given lookup.
     *
     * @param threadName the name of its threads
     * @param lookup     the lookup
     */
    public Resolver(String threadName, Lookup lookup) {
        this.lookup = lookup;
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                new NamedThreads(threadName));
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Resolves a name; the callback runs on {@code callbackExecutor} (never on the caller's thread during this call).
     *
     * @param host             the name (not a literal)
     * @param deadline         the {@link System#nanoTime()} after which the answer is no longer wanted
     * @param callbackExecutor where the callback runs
     * @param callback         the callback
     */
    public void resolve(String host, long deadline, Executor callbackExecutor, Callback callback) {
        try {
            pool.execute(() -> {
                List<InetAddress> found = null;
                String why;
                if (System.nanoTime() - deadline >= 0) {
                    why = "still queued for the resolver when the dial timeout passed";
                } else {
                    try {
                        InetAddress[] all = lookup.lookup(host);
                        found = all == null ? List.of() : Arrays.asList(all);
                        why = found.isEmpty() ? "no address" : null;
                    } catch (UnknownHostException e) {
                        why = "unknown host";
                    } catch (RuntimeException e) {
                        why = e.toString();
                    }
                }
                List<InetAddress> result = found;
                String failure = why;
                deliver(callbackExecutor, () -> {
                    if (failure == null) {
                        callback.resolved(result);
                    } else {
                        callback.failed(failure);
                    }
                });
            });
        } catch (RejectedExecutionException e) {
            deliver(callbackExecutor, () -> callback.failed("the server is closing"));
        }
    }

    /**
     * For a transport that blocks a thread per tunnel: resolves the tunnel's destination and feeds the answer to
     * the core, waiting at most until the dial deadline (then the core's timer decides).
     *
     * @param tunnel a tunnel whose last step was {@link TunnelSession.Step#RESOLVE}
     * @return the core's next step
     */
    public TunnelSession.Step resolveAndWait(TunnelSession tunnel) {
        CompletableFuture<TunnelSession.Step> answer = new CompletableFuture<>();
        resolve(tunnel.destination().host(), tunnel.dialDeadline(), Runnable::run, Callback.of(
                addresses -> answer.complete(tunnel.resolved(addresses, System.nanoTime())),
                why -> answer.complete(tunnel.resolveFailed(why, System.nanoTime()))));
        try {
            return answer.get(Math.max(1, tunnel.dialDeadline() - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return tunnel.tick(System.nanoTime());
        } catch (ExecutionException e) {
            return tunnel.resolveFailed(String.valueOf(e.getCause()), System.nanoTime());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return tunnel.close("interrupted");
        }
    }

    private static void deliver(Executor executor, Runnable r) {
        try {
            executor.execute(r);
        } catch (RejectedExecutionException e) {
            // the caller is gone (its loop shut down): nobody waits for the answer
        }
    }

    /** Stops the resolver's threads (a lookup blocked in the system resolver is abandoned); idempotent. */
    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

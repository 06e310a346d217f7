package io.streamproxy.cli;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * POSIX signals for the server command, through {@code sun.misc.Signal} (module {@code jdk.unsupported}, present on
 * every JDK from 9 to 25 and not deprecated), reached by reflection so that nothing internal is compiled against.
 * Handling a signal replaces the JVM's default: SIGHUP no longer kills the process, and SIGTERM/SIGINT no longer
 * start the JVM's shutdown by themselves (the handler decides).
 */
final class Signals {
    private Signals() {
    }

    /**
     * Runs {@code action} on the JVM's signal thread each time the signal arrives; it must return quickly.
     *
     * @param name   the signal's name without {@code SIG}: {@code HUP}, {@code TERM}, {@code INT}
     * @param action what to do
     * @return what puts the previous handler back, or null if signals cannot be handled on this JVM or platform
     *         (the default stays)
     * @throws IllegalStateException if the process ignores the signal (inherited, as under {@code nohup}): the JVM
     *                               then never passes it on, so nothing was installed
     */
    static Runnable handle(String name, Runnable action) {
        boolean ignored = false;
        Runnable restore;
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handler = Class.forName("sun.misc.SignalHandler");
            Constructor<?> make = signal.getConstructor(String.class);
            Object sig = make.newInstance(name);
            Object proxy = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handler},
                    (p, m, args) -> {
                        if (m.getName().equals("handle")) {
                            action.run();
                            return null;
                        }
                        if (m.getName().equals("toString")) {
                            return "stream-proxy SIG" + name + " handler";
                        }
                        if (m.getName().equals("hashCode")) {
                            return System.identityHashCode(p);
                        }
                        if (m.getName().equals("equals")) {
                            return p == args[0];
                        }
                        return null;
                    });
            Method handle = signal.getMethod("handle", signal, handler);
            Object previous = handle.invoke(null, sig, proxy);
            if (previous == handler.getField("SIG_IGN").get(null)) {
                handle.invoke(null, sig, previous);
                ignored = true;
            }
            restore = () -> {
                try {
                    handle.invoke(null, sig, previous);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    // the JVM is going away
                }
            };
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return null; // no such signal here (Windows has no HUP), or no jdk.unsupported
        }
        if (ignored) {
            throw new IllegalStateException("SIG" + name + " is ignored by this process (the disposition it "
                    + "inherited, as under nohup), and the JVM never passes on a signal ignored at its start");
        }
        return restore;
    }
}

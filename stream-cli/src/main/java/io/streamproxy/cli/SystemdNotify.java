package io.streamproxy.cli;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * systemd's service notifications ({@code sd_notify}) when {@code NOTIFY_SOCKET} is set: {@code READY=1} once
 * listening, {@code RELOADING=1} (with {@code MONOTONIC_USEC}, as {@code Type=notify-reload} asks) and
 * {@code READY=1} around a certificate reload, {@code STOPPING=1} when draining starts, and {@code WATCHDOG=1} at
 * half of {@code WATCHDOG_USEC}. The socket is a unix datagram socket, which Java 17 cannot send to (JEP 380 covers
 * stream sockets only), so each message goes through {@code systemd-notify --pid=THIS} (shipped with systemd), or
 * {@code socat} where that is missing; the unit therefore needs {@code NotifyAccess=all}. Each send is bounded
 * (5 s); a failure is logged once and the server goes on.
 */
final class SystemdNotify implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotify.class);
    private static final long SEND_TIMEOUT_SECONDS = 5;

    private final String socket;
    private final long pid = ProcessHandle.current().pid();
    private final ScheduledExecutorService watchdog;
    private volatile boolean failedOnce;

    private SystemdNotify(String socket, long watchdogMicros) {
        this.socket = socket;
        if (watchdogMicros > 0) {
            this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "stream-proxy-systemd-watchdog");
                t.setDaemon(true);
                return t;
            });
            long every = Math.max(1000, watchdogMicros / 2);
            watchdog.scheduleAtFixedRate(() -> send("WATCHDOG=1"), every, every, TimeUnit.MICROSECONDS);
        } else {
            this.watchdog = null;
        }
    }

    /**
     * Reads the environment.
     *
     * @return the notifier, or null when the process does not run under systemd with notifications
     */
    static SystemdNotify fromEnvironment() {
        String socket = System.getenv("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return null;
        }
        long watchdog = 0;
        String usec = System.getenv("WATCHDOG_USEC");
        String forPid = System.getenv("WATCHDOG_PID");
        if (usec != null && (forPid == null || forPid.equals(Long.toString(ProcessHandle.current().pid())))) {
            try {
                watchdog = Long.parseLong(usec.trim());
            } catch (NumberFormatException e) {
                watchdog = 0;
            }
        }
        return new SystemdNotify(socket, watchdog);
    }

    void ready(String status) {
        send("READY=1", "STATUS=" + status);
    }

    void reloading() {
        send("RELOADING=1", "MONOTONIC_USEC=" + System.nanoTime() / 1000); // nanoTime is CLOCK_MONOTONIC on Linux
    }

    void stopping() {
        send("STOPPING=1", "STATUS=draining");
    }

    /** Sends one message of {@code NAME=VALUE} lines; bounded, never throws. */
    synchronized void send(String... assignments) {
        List<String> notify = new ArrayList<>(List.of("systemd-notify", "--pid=" + pid));
        notify.addAll(List.of(assignments));
        if (run(notify, null)) {
            return;
        }
        String target = socket.startsWith("@") ? "ABSTRACT-SENDTO:" + socket.substring(1) : "UNIX-SENDTO:" + socket;
        if (run(List.of("socat", "-", target), "MAINPID=" + pid + "\n" + String.join("\n", assignments) + "\n")) {
            return;
        }
        if (!failedOnce) {
            failedOnce = true;
            LOG.warn("NOTIFY_SOCKET is set but neither systemd-notify nor socat could send to it; "
                    + "systemd notifications are off");
        }
    }

    private static boolean run(List<String> command, String input) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (input != null) {
                p.getOutputStream().write(input.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            if (!p.waitFor(SEND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false; // not installed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        if (watchdog != null) {
            watchdog.shutdownNow();
        }
    }
}

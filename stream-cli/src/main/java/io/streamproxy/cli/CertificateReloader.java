package io.streamproxy.cli;

import io.streamproxy.TlsCredentials;
import io.streamproxy.spi.DurationText;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads a command's certificate, key and CA (the server's, or a forward's client certificate) from the same files
 * while it runs: on demand (SIGHUP), when the folders holding them change (the folder is watched, not the file, so
 * that an atomic symlink swap as Kubernetes secrets and certbot do it is seen), and on a periodic content check. A change is applied only when the files'
 * content differs from what was last tried (SIGHUP applies it regardless); new handshakes get the new material at
 * once, open tunnels keep theirs. A reload that fails (a missing file, a key that does not match, unparseable PEM)
 * keeps the old material, logs one line and is counted; reloads are counted by outcome, and what is wrong with the
 * material although it loads (a certificate that expires soon, a usage or name peers will refuse,
 * {@link CertificateWarnings}) is warned about at start and on each reload.
 */
final class CertificateReloader implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateReloader.class);
    /** After a change in a watched folder, wait until it is this long quiet: writers replace several files. */
    private static final long QUIET_MILLIS = 300;
    /**
     * How often a certificate that expires soon (or has) is warned about again while it stays in use: a server
     * that runs for months was told only at its start, long before.
     */
    static final Duration EXPIRY_REMINDER = Duration.ofDays(1);

    /** What takes new credentials: a server or a client. */
    interface Target {
        void updateCredentials(TlsCredentials credentials) throws IOException;
    }

    private final CertificateFiles.Files3 files;
    /** {@code server} or {@code client}: whose certificate these files hold. */
    private final String role;
    private final List<Target> targets;
    /** Counts reloads and shows expiry, or null where the command serves no metrics. */
    private final Metrics metrics;
    private final Duration interval;
    private final WatchService watch;
    private final Thread thread;
    private byte[] lastTried;
    private volatile boolean closed;
    /** The material in use: what the expiry reminder looks at. */
    private volatile TlsCredentials inUse;
    private final Duration reminder;

    CertificateReloader(CertificateFiles.Files3 files, String role, List<Target> targets, Metrics metrics,
                        Duration interval, TlsCredentials inUse) throws IOException {
        this(files, role, targets, metrics, interval, inUse, EXPIRY_REMINDER);
    }

    /** As above, with the period of the expiry reminder (tests shorten it). */
    CertificateReloader(CertificateFiles.Files3 files, String role, List<Target> targets, Metrics metrics,
                        Duration interval, TlsCredentials inUse, Duration reminder) throws IOException {
        this.reminder = reminder;
        this.inUse = inUse;
        this.files = files;
        this.role = role;
        this.targets = List.copyOf(targets);
        this.metrics = metrics;
        this.interval = interval;
        this.lastTried = fingerprint();
        if (metrics != null) {
            metrics.certificatesInUse(inUse);
        }
        warnAbout(inUse);
        this.watch = FileSystems.getDefault().newWatchService();
        Set<Path> folders = new LinkedHashSet<>();
        for (Path p : new Path[] {files.ca(), files.cert(), files.key()}) {
            Path parent = p.toAbsolutePath().getParent();
            if (parent != null) {
                folders.add(parent);
            }
        }
        try {
            for (Path folder : folders) {
                folder.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                        StandardWatchEventKinds.ENTRY_DELETE);
            }
        } catch (IOException e) {
            watch.close();
            throw e;
        }
        this.thread = new Thread(this::run, "stream-proxy-certificate-reload");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Reloads now.
     *
     * @param trigger what asked (for the log line)
     * @param force   apply even if the files did not change (SIGHUP)
     * @return {@code success}, {@code failure} or {@code unchanged}
     */
    synchronized String reload(String trigger, boolean force) {
        byte[] now;
        try {
            now = fingerprint();
        } catch (IOException e) {
            return failed(trigger, e.toString());
        }
        if (!force && Arrays.equals(now, lastTried)) {
            return "unchanged";
        }
        lastTried = now;
        TlsCredentials credentials;
        try {
            credentials = TlsCredentials.fromPem(files.ca(), files.cert(), files.key());
            for (Target t : targets) {
                t.updateCredentials(credentials);
            }
        } catch (IOException | RuntimeException e) {
            return failed(trigger, e.getMessage());
        }
        inUse = credentials;
        if (metrics != null) {
            metrics.certificateReload("success");
            metrics.certificatesInUse(credentials);
        }
        X509Certificate leaf = credentials.certificateChain().get(0);
        LOG.info("certificates reloaded ({}): {} serial {}, valid until {}", trigger,
                leaf.getSubjectX500Principal().getName(), leaf.getSerialNumber().toString(16),
                leaf.getNotAfter().toInstant());
        warnAbout(credentials);
        return "success";
    }

    private String failed(String trigger, String why) {
        if (metrics != null) {
            metrics.certificateReload("failure");
        }
        LOG.warn("certificate reload ({}) failed, the old certificates stay in use: {}", trigger, why);
        return "failure";
    }

    /**
     * Reloads (forcing) on each SIGHUP, between {@code before} and {@code after} (which gets the outcome).
     *
     * @return what puts SIGHUP back to the JVM's: close it before this reloader
     */
    Closeable onSighup(Runnable before, java.util.function.Consumer<String> after) {
        Runnable restore;
        try {
            restore = Signals.handle("HUP", () -> {
                before.run();
                after.accept(reload("SIGHUP", true));
            });
        } catch (IllegalStateException ignored) {
            LOG.warn("{}: kill -HUP will not reload the certificates; they still reload when their files change "
                    + "(start the process without nohup, e.g. under systemd, for SIGHUP)", ignored.getMessage());
            return () -> { };
        }
        if (restore == null) {
            LOG.info("SIGHUP cannot be handled here; certificates reload when their files change");
            return () -> { };
        }
        return restore::run;
    }

    /** Warns again of each certificate in use that expires within the warning's window, or has. */
    private void remindOfExpiry() {
        for (String w : CertificateWarnings.expiry(inUse, Instant.now())) {
            LOG.warn("{} (still in use; said again every {} until it is renewed)", w, DurationText.of(reminder));
        }
    }

    /** Logs what is wrong with the material although it loads ({@link CertificateWarnings}), one line each. */
    private void warnAbout(TlsCredentials credentials) {
        for (String w : CertificateWarnings.of(credentials, role, Instant.now())) {
            LOG.warn(w);
        }
    }

    private byte[] fingerprint() throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path p : new Path[] {files.ca(), files.cert(), files.key()}) {
                byte[] bytes = Files.readAllBytes(p);
                sha.update(Integer.toString(bytes.length).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                sha.update(bytes);
            }
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void run() {
        long intervalNanos = interval.isZero() ? Long.MAX_VALUE : interval.toNanos();
        long next = System.nanoTime() + Math.min(intervalNanos, Long.MAX_VALUE / 2);
        long reminderNanos = Math.min(reminder.toNanos(), Long.MAX_VALUE / 4);
        long nextReminder = System.nanoTime() + reminderNanos;
        try {
            while (!closed) {
                if (System.nanoTime() - nextReminder >= 0) {
                    remindOfExpiry();
                    nextReminder = System.nanoTime() + reminderNanos;
                }
                long left = Math.min(next - System.nanoTime(), nextReminder - System.nanoTime());
                WatchKey key = left > 0 ? watch.poll(Math.max(1, left / 1_000_000L), TimeUnit.MILLISECONDS) : null;
                if (key != null) {
                    do {
                        key.pollEvents();
                        key.reset();
                        key = watch.poll(QUIET_MILLIS, TimeUnit.MILLISECONDS);
                    } while (key != null && !closed);
                    if (!closed) {
                        reload("files changed", false);
                    }
                } else if (System.nanoTime() - next >= 0 && !closed) {
                    reload("periodic check", false);
                    next = System.nanoTime() + Math.min(intervalNanos, Long.MAX_VALUE / 2);
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("certificate reloading stopped", e);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            watch.close();
        } catch (IOException e) {
            // closing
        }
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

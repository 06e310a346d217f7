package io.streamproxy.transport.jdk;

import io.streamproxy.Destination;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.protocol.SessionDecision;
import io.streamproxy.protocol.SessionRules;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.protocol.dtls.DtlsDriver;
import io.streamproxy.protocol.dtls.DtlsScratch;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.GeneralSecurityException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK transport's UDP-over-DTLS server: one UDP socket, one {@link Selector} thread for it and every
 * destination socket, one DTLS engine per client address. New sources must open with a DTLS ClientHello and stay
 * within the handshake cap; the engine answers with a HelloVerifyRequest cookie before it commits to a handshake;
 * handshake plus header are bounded by the header timeout; each relaying session has its own connected destination
 * socket and ends on close_notify, a fatal alert, a probe, an invalid header, the idle timeout or server close.
 */
final class JdkUdpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(JdkUdpServer.class);
    private static final int SOCKET_BUFFER = 4 << 20;
    private static final int MAX_READS_PER_WAKEUP = 256;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int MAX_PENDING = 64;

    private final StreamServerOptions options;
    private final SessionListener listener;
    private final SSLContext dtls;
    private final DatagramChannel channel;
    private final Selector selector;
    private final InetSocketAddress localAddress;
    private final Map<SocketAddress, Session> sessions = new HashMap<>();
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final ExecutorService resolver;
    private final DtlsScratch scratch = new DtlsScratch();
    private final ByteBuffer datagram = ByteBuffer.allocateDirect(65536);
    private final Thread loop;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicInteger relaying = new AtomicInteger();
    private final AtomicLong sessionIds = new AtomicLong();
    private final AtomicLong oversizeDrops = new AtomicLong();
    private final AtomicLong destinationErrors = new AtomicLong();
    private int handshaking;
    private long lastTick;
    private volatile boolean closed;

    JdkUdpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        this.listener = options.listener();
        try {
            this.dtls = options.credentials().newSslContext("DTLSv1.2");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the DTLS context: " + e.getMessage(), e);
        }
        this.selector = Selector.open();
        this.channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
            channel.bind(options.udpAddress());
            channel.configureBlocking(false);
            channel.register(selector, SelectionKey.OP_READ, null);
        } catch (IOException e) {
            channel.close();
            selector.close();
            throw new IOException("cannot listen on UDP " + options.udpAddress() + ": " + e.getMessage(), e);
        }
        this.localAddress = (InetSocketAddress) channel.getLocalAddress();
        this.resolver = new ThreadPoolExecutor(0, 4, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new NamedThreads("stream-proxy-jdk-udp-resolve"), new ThreadPoolExecutor.AbortPolicy());
        this.loop = new NamedThreads("stream-proxy-jdk-udp").newThread(this::run);
        loop.start();
        LOG.info("UDP stream server listening on {}", localAddress);
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int activeSessions() {
        return relaying.get();
    }

    long oversizeDrops() {
        return oversizeDrops.get();
    }

    // ---------------------------------------------------------------- the loop

    private void run() {
        lastTick = System.nanoTime();
        try {
            while (!closed) {
                selector.select(TimeUnit.NANOSECONDS.toMillis(TICK_NANOS) + 1);
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    if (!key.isValid()) {
                        continue;
                    }
                    Object attachment = key.attachment();
                    if (attachment == null) {
                        readClients();
                    } else {
                        readDestination((Session) attachment);
                    }
                }
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    task.run();
                }
                long now = System.nanoTime();
                if (now - lastTick >= TICK_NANOS) {
                    lastTick = now;
                    tick(now);
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (!closed) {
                LOG.error("UDP stream server loop on {} failed", localAddress, e);
            }
        } finally {
            shutdownSessions();
            stopped.countDown();
        }
    }

    private void readClients() throws IOException {
        for (int i = 0; i < MAX_READS_PER_WAKEUP; i++) {
            datagram.clear();
            SocketAddress from;
            try {
                from = channel.receive(datagram);
            } catch (PortUnreachableException e) {
                continue; // an ICMP error about a client: nothing to do
            }
            if (from == null) {
                return;
            }
            datagram.flip();
            Session s = sessions.get(from);
            if (s == null) {
                s = newSession(from);
                if (s == null) {
                    continue;
                }
            }
            s.fromClient(datagram);
        }
    }

    /** A new source: only a DTLS ClientHello within the caps creates state. */
    private Session newSession(SocketAddress from) {
        if (!looksLikeClientHello(datagram)) {
            return null;
        }
        if (handshaking >= options.maxHandshakes()) {
            LOG.debug("UDP handshake from {} dropped: {} handshakes in progress", from, handshaking);
            return null;
        }
        if (relaying.get() >= options.maxSessions()) {
            LOG.debug("UDP handshake from {} dropped: {} sessions", from, relaying.get());
            return null;
        }
        Session s = new Session(from);
        sessions.put(from, s);
        handshaking++;
        return s;
    }

    /** DTLS record header: content type 22 (handshake), version 0xfeff or 0xfefd, then handshake type 1. */
    private static boolean looksLikeClientHello(ByteBuffer b) {
        int p = b.position();
        return b.remaining() > 25 && b.get(p) == 22 && (b.get(p + 1) & 0xff) == 0xfe
                && ((b.get(p + 2) & 0xff) == 0xff || (b.get(p + 2) & 0xff) == 0xfd) && b.get(p + 13) == 1;
    }

    private void readDestination(Session s) {
        for (int i = 0; i < MAX_READS_PER_WAKEUP && s.upstream != null; i++) {
            datagram.clear();
            int n;
            try {
                n = s.upstream.read(datagram);
            } catch (PortUnreachableException e) {
                destinationErrors.incrementAndGet();
                LOG.debug("UDP session {}: destination {} unreachable (ICMP); session kept", s.id, s.destination);
                continue;
            } catch (IOException e) {
                s.end("destination socket failed: " + e.getMessage());
                return;
            }
            if (n <= 0) {
                return;
            }
            datagram.flip();
            s.fromDestination(datagram);
        }
    }

    private void tick(long now) {
        List<Session> expired = null;
        for (Session s : sessions.values()) {
            String why = s.expiry(now);
            if (why != null) {
                if (expired == null) {
                    expired = new ArrayList<>();
                }
                expired.add(s);
                s.expiryReason = why;
            }
        }
        if (expired != null) {
            for (Session s : expired) {
                s.timedOut(s.expiryReason);
            }
        }
    }

    private void transmit(SocketAddress to, ByteBuffer data) throws IOException {
        if (channel.send(data, to) == 0) {
            LOG.debug("UDP send buffer full: datagram to {} dropped", to);
        }
    }

    private void shutdownSessions() {
        for (Session s : new ArrayList<>(sessions.values())) {
            s.end("server closed");
        }
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        selector.wakeup();
        try {
            if (!stopped.await(5, TimeUnit.SECONDS)) {
                LOG.warn("UDP stream server loop on {} did not stop within 5 s", localAddress);
            }
            loop.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        resolver.shutdownNow();
        try {
            resolver.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("UDP stream server on {} closed", localAddress);
    }

    private void report(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.warn("session listener failed", e);
        }
    }

    // ---------------------------------------------------------------- one client address

    private enum State { HANDSHAKE, HEADER, RESOLVING, RELAYING, ENDED }

    private final class Session implements DtlsDriver.Output {
        final SocketAddress client;
        final DtlsDriver driver;
        final long createdNanos = System.nanoTime();
        long lastActivity = createdNanos;
        State state = State.HANDSHAKE;
        long id;
        Destination destination;
        SessionInfo info;
        DatagramChannel upstream;
        SelectionKey upstreamKey;
        Queue<ByteBuffer> pending;
        long bytesToDestination;
        long bytesFromDestination;
        String expiryReason;

        Session(SocketAddress client) {
            this.client = client;
            this.driver = new DtlsDriver(DtlsEngines.server(dtls), options.dtlsMtu(), this);
        }

        void fromClient(ByteBuffer data) {
            long now = System.nanoTime();
            if (state == State.RELAYING) {
                lastActivity = now;
            }
            try {
                driver.receive(data, scratch, now);
            } catch (SSLException e) {
                if (state == State.HANDSHAKE) {
                    refuse(RefusalReason.HANDSHAKE_FAILED, "DTLS: " + e.getMessage());
                } else {
                    end("DTLS failed: " + e.getMessage());
                }
                return;
            } catch (IOException e) {
                end("DTLS I/O failed: " + e);
                return;
            }
            if (driver.isClosed() && state != State.ENDED) {
                if (state == State.HANDSHAKE || state == State.HEADER) {
                    refuse(state == State.HANDSHAKE ? RefusalReason.HANDSHAKE_FAILED : RefusalReason.INVALID_HEADER,
                            "client closed before sending a header");
                } else {
                    end("client sent close_notify");
                }
            }
        }

        @Override
        public void transmit(ByteBuffer data) throws IOException {
            JdkUdpServer.this.transmit(client, data);
        }

        @Override
        public void handshakeFinished() {
            state = State.HEADER;
        }

        @Override
        public void record(ByteBuffer plaintext) throws IOException {
            switch (state) {
                case HANDSHAKE:
                case HEADER:
                    onHeader(plaintext);
                    return;
                case RESOLVING:
                    if (pending.size() < MAX_PENDING) {
                        ByteBuffer copy = ByteBuffer.allocate(plaintext.remaining());
                        copy.put(plaintext).flip();
                        pending.add(copy);
                    }
                    return;
                case RELAYING:
                    toDestination(plaintext);
                    return;
                default:
                    // ended: drop
            }
        }

        private void onHeader(ByteBuffer plaintext) {
            SessionDecision decision = SessionRules.decide(plaintext, options.policy());
            switch (decision.action()) {
                case CLOSE_QUIETLY:
                    LOG.debug("UDP health probe from {}", client);
                    report(() -> listener.healthProbe(Protocol.UDP, client));
                    state = State.ENDED;
                    finish();
                    return;
                case REFUSE:
                    String detail = decision.detail();
                    if (plaintext.remaining() != StreamProtocol.HEADER_SIZE) {
                        detail = "first record is " + plaintext.remaining() + " bytes, a header is "
                                + StreamProtocol.HEADER_SIZE;
                    }
                    refuse(decision.reason(), detail);
                    return;
                default:
                    if (relaying.get() >= options.maxSessions()) {
                        refuse(RefusalReason.CAPACITY, "at the limit of " + options.maxSessions() + " sessions");
                        return;
                    }
                    destination = decision.destination();
                    state = State.RESOLVING;
                    pending = new ArrayDeque<>();
                    resolve();
            }
        }

        private void resolve() {
            String host = destination.host();
            if (TcpSessions.isIpLiteral(host)) {
                try {
                    dial(InetAddress.getByName(host));
                } catch (IOException e) {
                    refuse(RefusalReason.DIAL_FAILED, "dialling " + destination + ": " + e.getMessage());
                }
                return;
            }
            long deadline = System.nanoTime() + options.dialTimeout().toNanos();
            try {
                resolver.execute(() -> {
                    InetAddress address = null;
                    String failure = null;
                    try {
                        address = InetAddress.getAllByName(host)[0];
                    } catch (IOException e) {
                        failure = e.getMessage();
                    }
                    InetAddress found = address;
                    String why = failure;
                    tasks.add(() -> afterResolve(found, why, deadline));
                    selector.wakeup();
                });
            } catch (RuntimeException e) {
                refuse(RefusalReason.DIAL_FAILED, "resolver busy for " + destination);
            }
        }

        private void afterResolve(InetAddress address, String failure, long deadline) {
            if (state != State.RESOLVING) {
                return;
            }
            if (address == null || System.nanoTime() > deadline) {
                refuse(RefusalReason.DIAL_FAILED, "resolving " + destination.host() + ": "
                        + (failure != null ? failure : "took longer than " + options.dialTimeout()));
                return;
            }
            try {
                dial(address);
            } catch (IOException e) {
                refuse(RefusalReason.DIAL_FAILED, "dialling " + destination + ": " + e.getMessage());
            }
        }

        private void dial(InetAddress address) throws IOException {
            DatagramChannel up = DatagramChannel.open();
            try {
                up.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                up.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                up.connect(new InetSocketAddress(address, destination.port()));
                up.configureBlocking(false);
                upstreamKey = up.register(selector, SelectionKey.OP_READ, this);
            } catch (IOException e) {
                up.close();
                throw e;
            }
            upstream = up;
            handshaking--;
            relaying.incrementAndGet();
            state = State.RELAYING;
            lastActivity = System.nanoTime();
            id = sessionIds.incrementAndGet();
            info = new SessionInfo(id, Protocol.UDP, client, destination);
            LOG.debug("UDP session {} from {} to {} opened", id, client, destination);
            report(() -> listener.sessionOpened(info));
            ByteBuffer b;
            while ((b = pending.poll()) != null) {
                toDestination(b);
            }
            pending = null;
        }

        private void toDestination(ByteBuffer plaintext) {
            int n = plaintext.remaining();
            try {
                if (upstream.write(plaintext) > 0) {
                    bytesToDestination += n;
                }
            } catch (PortUnreachableException e) {
                destinationErrors.incrementAndGet();
                LOG.debug("UDP session {}: destination {} unreachable (ICMP); session kept", id, destination);
            } catch (IOException e) {
                end("writing to the destination failed: " + e.getMessage());
            }
        }

        void fromDestination(ByteBuffer data) {
            if (data.remaining() > DtlsDriver.MAX_DATAGRAM) {
                oversizeDrops.incrementAndGet();
                int size = data.remaining();
                LOG.debug("UDP session {}: {}-byte datagram from {} is over the DTLS record limit; dropped", id,
                        size, destination);
                report(() -> listener.datagramDropped(info, size, "over the " + DtlsDriver.MAX_DATAGRAM
                        + "-byte DTLS record limit"));
                return;
            }
            lastActivity = System.nanoTime();
            int n = data.remaining();
            try {
                driver.send(data, scratch);
                bytesFromDestination += n;
            } catch (IOException e) {
                end("sending to the client failed: " + e.getMessage());
            }
        }

        String expiry(long now) {
            switch (state) {
                case HANDSHAKE:
                case HEADER:
                case RESOLVING:
                    if (now - createdNanos > options.headerTimeout().toNanos()) {
                        return "no " + (state == State.HANDSHAKE ? "handshake" : "header") + " within "
                                + options.headerTimeout();
                    }
                    if (driver.timerDeadline() <= now) {
                        try {
                            driver.onTimer(scratch, now);
                        } catch (IOException e) {
                            return "DTLS retransmission failed: " + e.getMessage();
                        }
                    }
                    return null;
                case RELAYING:
                    if (now - lastActivity > options.udpIdleTimeout().toNanos()) {
                        return "idle for " + options.udpIdleTimeout();
                    }
                    return null;
                default:
                    return null;
            }
        }

        void timedOut(String why) {
            if (state == State.RELAYING) {
                end(why);
            } else {
                refuse(RefusalReason.HEADER_TIMEOUT, why);
            }
        }

        private void refuse(RefusalReason reason, String detail) {
            if (state == State.ENDED) {
                return;
            }
            boolean wasHandshaking = state != State.RELAYING;
            state = State.ENDED;
            if (reason == RefusalReason.DIAL_FAILED || reason == RefusalReason.CAPACITY) {
                LOG.warn("UDP session from {} refused: {} ({})", client, reason, detail);
            } else {
                LOG.info("UDP session from {} refused: {} ({})", client, reason, detail);
            }
            report(() -> listener.sessionRefused(Protocol.UDP, client, reason, detail));
            if (wasHandshaking) {
                finish();
            }
        }

        /** Ends a session (relaying or not): close_notify to the client, destination socket closed. */
        void end(String why) {
            State was = state;
            if (was == State.ENDED) {
                finish();
                return;
            }
            if (was != State.RELAYING) {
                refuse(was == State.HANDSHAKE ? RefusalReason.HANDSHAKE_FAILED : RefusalReason.INVALID_HEADER, why);
                return;
            }
            state = State.ENDED;
            finish();
            LOG.debug("UDP session {} closed ({}): {} bytes up, {} bytes down", id, why, bytesToDestination,
                    bytesFromDestination);
            report(() -> listener.sessionClosed(info, bytesToDestination, bytesFromDestination));
        }

        private void finish() {
            if (sessions.remove(client) == null) {
                return;
            }
            driver.close(scratch);
            if (upstream != null) {
                upstreamKey.cancel();
                try {
                    upstream.close();
                } catch (IOException e) {
                    // closing
                }
                relaying.decrementAndGet();
            } else {
                handshaking--;
            }
        }
    }
}

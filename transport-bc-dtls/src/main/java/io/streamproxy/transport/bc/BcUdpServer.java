package io.streamproxy.transport.bc;

import io.streamproxy.Destination;
import io.streamproxy.Protocol;
import io.streamproxy.RefusalReason;
import io.streamproxy.SessionInfo;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.protocol.SessionDecision;
import io.streamproxy.protocol.SessionEvents;
import io.streamproxy.protocol.SessionRules;
import io.streamproxy.protocol.StreamProtocol;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.tls.DTLSRequest;
import org.bouncycastle.tls.DTLSServerProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DTLSVerifier;
import org.bouncycastle.tls.DatagramSender;
import org.bouncycastle.tls.DatagramTransport;
import org.bouncycastle.tls.TlsTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code bc} transport's UDP-over-DTLS server. One thread receives on the UDP socket and demultiplexes by
 * source address; a new source gets a stateless HelloVerifyRequest from {@link DTLSVerifier} and no state at all
 * until it returns the cookie. Verified handshakes run (Bouncy Castle blocks) on a pool capped at
 * {@code maxHandshakes}, which also reads the header. Relaying sessions hold no thread: a datagram from the client
 * schedules a short pump on a small shared pool, and one selector thread reads every destination socket, sends to
 * clients, and reaps late handshakes and idle sessions.
 */
final class BcUdpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(BcUdpServer.class);
    private static final int SOCKET_BUFFER = 4 << 20;
    private static final int RECEIVE_LIMIT = 65507;
    private static final int MAX_DATAGRAM = 16384;
    private static final int QUEUE_PER_SESSION = 256;
    private static final long TICK_MILLIS = 100;
    private static final ThreadLocal<byte[]> PUMP_BUFFER = ThreadLocal.withInitial(() -> new byte[RECEIVE_LIMIT]);

    private final StreamServerOptions options;
    private final SessionEvents events;
    private final BcTls tls;
    private final DTLSVerifier verifier;
    private final DatagramChannel channel;
    private final Selector selector;
    private final InetSocketAddress localAddress;
    private final Map<SocketAddress, Session> sessions = new ConcurrentHashMap<>();
    private final Queue<Session> toRegister = new ConcurrentLinkedQueue<>();
    private final ThreadPoolExecutor handshakes;
    private final ThreadPoolExecutor pumps;
    private final Thread receiver;
    private final Thread destinations;
    private final AtomicInteger handshaking = new AtomicInteger();
    private final AtomicInteger relaying = new AtomicInteger();
    private final AtomicLong sessionIds = new AtomicLong();
    private final ByteBuffer fromDestination = ByteBuffer.allocateDirect(65536);
    private final byte[] toClient = new byte[65536];
    private volatile boolean closed;

    BcUdpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        this.events = new SessionEvents(options.listener());
        this.tls = new BcTls(options.credentials());
        this.verifier = new DTLSVerifier(tls.crypto);
        this.selector = Selector.open();
        this.channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
            channel.bind(options.udpAddress());
        } catch (IOException e) {
            channel.close();
            selector.close();
            throw new IOException("cannot listen on UDP " + options.udpAddress() + ": " + e.getMessage(), e);
        }
        this.localAddress = (InetSocketAddress) channel.getLocalAddress();
        this.handshakes = new ThreadPoolExecutor(0, options.maxHandshakes(), 10, TimeUnit.SECONDS,
                new SynchronousQueue<>(), new NamedThreads("stream-proxy-bc-handshake"));
        int cores = Math.max(2, Runtime.getRuntime().availableProcessors());
        this.pumps = new ThreadPoolExecutor(cores, cores, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                new NamedThreads("stream-proxy-bc-pump"));
        pumps.allowCoreThreadTimeOut(true);
        this.receiver = new NamedThreads("stream-proxy-bc-udp-receive").newThread(this::receiveLoop);
        this.destinations = new NamedThreads("stream-proxy-bc-udp-destinations").newThread(this::destinationLoop);
        receiver.start();
        destinations.start();
        LOG.info("UDP stream server (bc) listening on {}", localAddress);
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public int activeSessions() {
        return relaying.get();
    }

    // ------------------------------------------------------------ client side: demultiplexing

    private void receiveLoop() {
        ByteBuffer buffer = ByteBuffer.allocate(RECEIVE_LIMIT);
        byte[] array = buffer.array();
        while (!closed) {
            buffer.clear();
            SocketAddress from;
            try {
                from = channel.receive(buffer);
            } catch (ClosedChannelException e) {
                return;
            } catch (PortUnreachableException e) {
                continue;
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("UDP receive on {} failed: {}", localAddress, e.toString());
                }
                continue;
            }
            int length = buffer.position();
            Session s = sessions.get(from);
            if (s != null) {
                s.offer(array, length);
            } else if (!closed) {
                newSource(from, array, length);
            }
        }
    }

    /** A source with no session: stateless cookie check; state only for a verified ClientHello within the caps. */
    private void newSource(SocketAddress from, byte[] data, int length) {
        if (handshaking.get() >= options.maxHandshakes() || relaying.get() >= options.maxSessions()) {
            LOG.debug("UDP datagram from {} dropped: at the handshake or session limit", from);
            return;
        }
        DTLSRequest request;
        try {
            request = verifier.verifyRequest(clientId(from), data, 0, length, sender(from));
        } catch (RuntimeException e) {
            return; // not a ClientHello
        }
        if (request == null) {
            return; // answered with a HelloVerifyRequest, or not a ClientHello: no state kept
        }
        Session s = new Session(from);
        handshaking.incrementAndGet();
        sessions.put(from, s);
        try {
            handshakes.execute(() -> s.handshake(request));
        } catch (RejectedExecutionException e) {
            sessions.remove(from);
            handshaking.decrementAndGet();
        }
    }

    private static byte[] clientId(SocketAddress address) {
        InetSocketAddress a = (InetSocketAddress) address;
        byte[] ip = a.getAddress().getAddress();
        byte[] id = new byte[ip.length + 2];
        System.arraycopy(ip, 0, id, 0, ip.length);
        id[ip.length] = (byte) (a.getPort() >> 8);
        id[ip.length + 1] = (byte) a.getPort();
        return id;
    }

    private DatagramSender sender(SocketAddress to) {
        return new DatagramSender() {
            @Override
            public int getSendLimit() {
                return options.dtlsMtu() - 48;
            }

            @Override
            public void send(byte[] buf, int off, int len) throws IOException {
                channel.send(ByteBuffer.wrap(buf, off, len), to);
            }
        };
    }

    // ------------------------------------------------------------ destination side and timers

    private void destinationLoop() {
        try {
            while (!closed) {
                selector.select(TICK_MILLIS);
                Session r;
                while ((r = toRegister.poll()) != null) {
                    r.register();
                }
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    if (key.isValid()) {
                        ((Session) key.attachment()).readDestination();
                    }
                }
                tick(System.nanoTime());
            }
        } catch (IOException | ClosedSelectorException e) {
            if (!closed) {
                LOG.error("UDP destination loop of {} failed", localAddress, e);
            }
        }
    }

    private void tick(long now) {
        for (Session s : sessions.values()) {
            s.checkTimers(now);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Session s : new ArrayList<>(sessions.values())) {
            s.end("server closed"); // close_notify goes out while the socket is still open
        }
        try {
            channel.close();
        } catch (IOException e) {
            // closing
        }
        selector.wakeup();
        handshakes.shutdownNow();
        pumps.shutdown();
        try {
            receiver.join(5000);
            destinations.join(5000);
            if (!handshakes.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("DTLS handshake threads still running 5 s after close");
            }
            if (!pumps.awaitTermination(5, TimeUnit.SECONDS)) {
                pumps.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing
        }
        LOG.info("UDP stream server (bc) on {} closed", localAddress);
    }


    // ------------------------------------------------------------ one client address

    private enum State { HANDSHAKE, HEADER, RELAYING, ENDED }

    private final class Session implements DatagramTransport {
        final SocketAddress client;
        final long createdNanos = System.nanoTime();
        final BlockingQueue<byte[]> inbound = new ArrayBlockingQueue<>(QUEUE_PER_SESSION);
        final AtomicBoolean pumping = new AtomicBoolean();
        final BcDtlsServerPeer peer;
        volatile State state = State.HANDSHAKE;
        volatile long lastActivity = createdNanos;
        volatile boolean transportClosed;
        volatile boolean expired;
        DTLSTransport dtls;
        DatagramChannel upstream;
        SelectionKey upstreamKey;
        Destination destination;
        SessionInfo info;
        final AtomicLong bytesToDestination = new AtomicLong();
        final AtomicLong bytesFromDestination = new AtomicLong();

        Session(SocketAddress client) {
            this.client = client;
            // Bouncy Castle's own handshake timeout is a backstop behind the header deadline of checkTimers
            this.peer = new BcDtlsServerPeer(tls, options.headerTimeout().plusSeconds(1));
        }

        void offer(byte[] data, int length) {
            byte[] copy = new byte[length];
            System.arraycopy(data, 0, copy, 0, length);
            if (!inbound.offer(copy)) {
                LOG.debug("UDP session from {}: inbound queue full, datagram dropped", client);
                return;
            }
            if (state == State.RELAYING) {
                schedulePump();
            }
        }

        // DatagramTransport for Bouncy Castle: the demultiplexed datagrams of this source
        @Override
        public int getReceiveLimit() {
            return RECEIVE_LIMIT;
        }

        @Override
        public int getSendLimit() {
            return options.dtlsMtu() - 48;
        }

        @Override
        public int receive(byte[] buf, int off, int len, int waitMillis) throws IOException {
            if (transportClosed) {
                throw new IOException("session closed");
            }
            byte[] d;
            try {
                d = waitMillis <= 0 ? inbound.poll() : inbound.poll(waitMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted");
            }
            if (d == null) {
                if (transportClosed) {
                    throw new IOException("session closed");
                }
                return -1;
            }
            int n = Math.min(len, d.length);
            System.arraycopy(d, 0, buf, off, n);
            return n;
        }

        @Override
        public void send(byte[] buf, int off, int len) throws IOException {
            channel.send(ByteBuffer.wrap(buf, off, len), client);
        }

        @Override
        public void close() {
            transportClosed = true;
        }

        /** Runs on the handshake pool: handshake, then the header, then the decision. */
        void handshake(DTLSRequest request) {
            try {
                dtls = new DTLSServerProtocol().accept(peer, this, request);
            } catch (IOException | RuntimeException e) {
                boolean late = expired || e instanceof TlsTimeoutException;
                refuse(late ? RefusalReason.HEADER_TIMEOUT : RefusalReason.HANDSHAKE_FAILED,
                        late ? "no handshake within " + options.headerTimeout()
                                : "DTLS: " + (peer.alertSummary() != null ? peer.alertSummary() : describe(e)));
                return;
            }
            state = State.HEADER;
            byte[] buf = PUMP_BUFFER.get();
            int n = -1;
            try {
                long deadline = createdNanos + options.headerTimeout().toNanos();
                while (n < 0 && !peer.closeNotifyReceived()) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0 || expired) {
                        refuse(RefusalReason.HEADER_TIMEOUT, "no header within " + options.headerTimeout());
                        return;
                    }
                    n = dtls.receive(buf, 0, buf.length, (int) Math.min(left, 100));
                }
            } catch (IOException | RuntimeException e) {
                refuse(expired ? RefusalReason.HEADER_TIMEOUT : RefusalReason.INVALID_HEADER,
                        expired ? "no header within " + options.headerTimeout() : "DTLS: " + describe(e));
                return;
            }
            if (n < 0) {
                refuse(RefusalReason.INVALID_HEADER, "client closed before sending a header");
                return;
            }
            decide(ByteBuffer.wrap(buf, 0, n));
        }

        private void decide(ByteBuffer header) {
            SessionDecision decision = SessionRules.decide(header, options.policy());
            switch (decision.action()) {
                case CLOSE_QUIETLY:
                    events.probe(Protocol.UDP, client);
                    finish();
                    return;
                case REFUSE:
                    refuse(decision.reason(), header.remaining() != StreamProtocol.HEADER_SIZE
                            ? "first record is " + header.remaining() + " bytes, a header is "
                            + StreamProtocol.HEADER_SIZE : decision.detail());
                    return;
                default:
                    dial(decision.destination());
            }
        }

        private void dial(Destination d) {
            if (relaying.get() >= options.maxSessions()) {
                refuse(RefusalReason.CAPACITY, "at the limit of " + options.maxSessions() + " sessions");
                return;
            }
            destination = d;
            DatagramChannel up = null;
            try {
                InetAddress address = resolve(d.host());
                up = DatagramChannel.open();
                up.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                up.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                up.connect(new InetSocketAddress(address, d.port()));
                up.configureBlocking(false);
            } catch (IOException e) {
                if (up != null) {
                    try {
                        up.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
                refuse(RefusalReason.DIAL_FAILED, "dialling " + d + ": " + e.getMessage());
                return;
            }
            upstream = up;
            info = new SessionInfo(sessionIds.incrementAndGet(), Protocol.UDP, client, d);
            handshaking.decrementAndGet();
            relaying.incrementAndGet();
            lastActivity = System.nanoTime();
            state = State.RELAYING;
            events.opened(info);
            toRegister.add(this);
            selector.wakeup();
            schedulePump();
        }

        private InetAddress resolve(String host) throws IOException {
            if (BcTls.isIpLiteral(host)) {
                return InetAddress.getByName(host);
            }
            Future<InetAddress> lookup;
            try {
                lookup = pumps.submit(() -> InetAddress.getByName(host));
            } catch (RejectedExecutionException e) {
                throw new IOException("server closing");
            }
            try {
                return lookup.get(options.dialTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                lookup.cancel(true);
                throw new IOException("resolving " + host + " took longer than " + options.dialTimeout());
            } catch (ExecutionException e) {
                throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted");
            }
        }

        void register() {
            if (state != State.RELAYING || upstream == null) {
                return;
            }
            try {
                upstreamKey = upstream.register(selector, SelectionKey.OP_READ, this);
            } catch (ClosedChannelException e) {
                // ended meanwhile
            }
        }

        private void schedulePump() {
            if (pumping.compareAndSet(false, true)) {
                try {
                    pumps.execute(this::pump);
                } catch (RejectedExecutionException e) {
                    pumping.set(false);
                }
            }
        }

        /** Client records to the destination; never waits for more than what is queued. */
        private void pump() {
            byte[] buf = PUMP_BUFFER.get();
            try {
                while (state == State.RELAYING) {
                    int n = dtls.receivePending(buf, 0, buf.length);
                    if (n < 0) {
                        if (inbound.isEmpty()) {
                            break;
                        }
                        n = dtls.receive(buf, 0, buf.length, 1);
                    }
                    if (peer.closeNotifyReceived()) {
                        end("client sent close_notify");
                        return;
                    }
                    if (n >= 0) {
                        toDestination(buf, n);
                    }
                }
            } catch (IOException | RuntimeException e) {
                end("DTLS failed: " + describe(e));
                return;
            } finally {
                pumping.set(false);
            }
            if (!inbound.isEmpty() && state == State.RELAYING) {
                schedulePump();
            }
        }

        private void toDestination(byte[] buf, int n) {
            lastActivity = System.nanoTime();
            bytesToDestination.addAndGet(n); // counted first: the session may be closed while the write returns
            try {
                if (upstream.write(ByteBuffer.wrap(buf, 0, n)) == 0) {
                    bytesToDestination.addAndGet(-n); // send buffer full: dropped
                }
            } catch (PortUnreachableException e) {
                LOG.debug("UDP session {}: destination {} unreachable (ICMP); session kept", info.id(), destination);
            } catch (IOException e) {
                end("writing to the destination failed: " + e.getMessage());
            }
        }

        /** On the selector thread. */
        void readDestination() {
            for (int i = 0; i < 64 && state == State.RELAYING; i++) {
                fromDestination.clear();
                int n;
                try {
                    n = upstream.read(fromDestination);
                } catch (PortUnreachableException e) {
                    LOG.debug("UDP session {}: destination {} unreachable (ICMP); session kept", info.id(),
                            destination);
                    continue;
                } catch (IOException e) {
                    end("destination socket failed: " + e.getMessage());
                    return;
                }
                if (n <= 0) {
                    return;
                }
                if (n > MAX_DATAGRAM) {
                    events.dropped(info, n, "over the " + MAX_DATAGRAM + "-byte DTLS record limit");
                    continue;
                }
                fromDestination.flip();
                fromDestination.get(toClient, 0, n);
                lastActivity = System.nanoTime();
                bytesFromDestination.addAndGet(n);
                try {
                    dtls.send(toClient, 0, n);
                } catch (IOException | RuntimeException e) {
                    end("sending to the client failed: " + describe(e));
                    return;
                }
            }
        }

        void checkTimers(long now) {
            State s = state;
            if ((s == State.HANDSHAKE || s == State.HEADER)
                    && now - createdNanos > options.headerTimeout().toNanos()) {
                expired = true;
                transportClosed = true; // wakes the handshake thread, which reports the timeout
            } else if (s == State.RELAYING && now - lastActivity > options.udpIdleTimeout().toNanos()) {
                end("idle for " + options.udpIdleTimeout());
            }
        }

        private synchronized void refuse(RefusalReason reason, String detail) {
            if (state == State.ENDED) {
                return;
            }
            events.refused(Protocol.UDP, client, reason, detail);
            finish();
        }

        /** Ends the session, relaying or not. */
        synchronized void end(String why) {
            State was = state;
            if (was == State.ENDED) {
                return;
            }
            if (was != State.RELAYING) {
                refuse(was == State.HANDSHAKE ? RefusalReason.HANDSHAKE_FAILED : RefusalReason.HEADER_TIMEOUT, why);
                return;
            }
            finish();
            events.closed(info, why, bytesToDestination.get(), bytesFromDestination.get());
        }

        private synchronized void finish() {
            State was = state;
            if (was == State.ENDED) {
                return;
            }
            state = State.ENDED;
            sessions.remove(client, this);
            if (dtls != null) {
                try {
                    dtls.close(); // close_notify
                } catch (IOException | RuntimeException e) {
                    // closing
                }
            }
            transportClosed = true;
            if (upstream != null) {
                if (upstreamKey != null) {
                    upstreamKey.cancel();
                }
                try {
                    upstream.close();
                } catch (IOException e) {
                    // closing
                }
            }
            if (was == State.RELAYING) {
                relaying.decrementAndGet();
            } else {
                handshaking.decrementAndGet();
            }
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m != null ? ": " + m : "");
    }
}

package io.streamproxy.transport.bc;

import io.streamproxy.Protocol;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.internal.Resolver;
import io.streamproxy.internal.SessionEvents;
import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.dtls.DtlsClientTable;
import io.streamproxy.protocol.TunnelSession.Step;
import io.streamproxy.protocol.dtls.DtlsRecords;
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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bouncycastle.tls.DTLSRequest;
import org.bouncycastle.tls.DTLSServerProtocol;
import org.bouncycastle.tls.DTLSTransport;
import org.bouncycastle.tls.DTLSVerifier;
import org.bouncycastle.tls.DatagramSender;
import org.bouncycastle.tls.DatagramTransport;
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
    private static final int MAX_RECORDS_PER_DATAGRAM = 64;
    private static final long TICK_MILLIS = 100;
    private static final ThreadLocal<byte[]> PUMP_BUFFER = ThreadLocal.withInitial(() -> new byte[RECEIVE_LIMIT]);

    private final StreamServerOptions options;
    private final SessionListener events;
    private final SessionCore core;
    private final Resolver resolver;
    private volatile BcTls tls; // a reload swaps it; a peer keeps the one it was made with
    private final DTLSVerifier verifier;
    private final DatagramChannel channel;
    private final Selector selector;
    private final InetSocketAddress localAddress;
    private final Map<SocketAddress, Session> sessions = new ConcurrentHashMap<>();
    private final Queue<Session> toRegister = new ConcurrentLinkedQueue<>();
    /** The answer to a record of a session this server does not know; used on the receive loop only. */
    private final ByteBuffer clearAlertAnswer = ByteBuffer.allocate(DtlsRecords.CLEAR_ALERT);
    private final ThreadPoolExecutor handshakes;
    private final ThreadPoolExecutor pumps;
    private final Thread receiver;
    private final Thread destinations;
    private final ByteBuffer fromDestination = ByteBuffer.allocateDirect(65536);
    private final byte[] toClient = new byte[65536];
    private volatile boolean closed;

    BcUdpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        this.events = SessionEvents.reporting(options.listener());
        this.core = new SessionCore(Protocol.UDP, options, events);
        this.resolver = new Resolver("stream-proxy-bc-resolve");
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
        return core.activeSessions();
    }

    @Override
    public void updateCredentials(TlsCredentials credentials) throws IOException {
        this.tls = new BcTls(credentials); // the cookie verifier keeps its own secret
    }

    @Override
    public void drain() {
        core.drain();
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
        if (DtlsRecords.answerUnknownSession(ByteBuffer.wrap(data, 0, length), clearAlertAnswer)) {
            core.dropped(from, DtlsClientTable.DROP_UNKNOWN_SESSION);
            try {
                channel.send(clearAlertAnswer, from);
            } catch (IOException e) {
                // like any lost datagram: the client sends again
            }
            return;
        }
        DTLSRequest request;
        try {
            request = verifier.verifyRequest(clientId(from), data, 0, length, sender(from));
        } catch (RuntimeException e) {
            core.dropped(from, DtlsClientTable.DROP_NOT_A_HELLO);
            return;
        }
        if (request == null) {
            return; // answered with a HelloVerifyRequest, or not a ClientHello: no state kept
        }
        TunnelSession tunnel = core.tryAccept(from, System.nanoTime());
        if (tunnel == null) {
            if (core.isDraining() && DtlsRecords.answerDraining(ByteBuffer.wrap(data, 0, length),
                    clearAlertAnswer)) {
                try {
                    channel.send(clearAlertAnswer, from); // told at once, instead of timing out
                } catch (IOException e) {
                    // like any lost datagram
                }
            }
            return; // at the server's or the source's handshake limit (counted); the client retransmits
        }
        Session s = new Session(from, tunnel);
        sessions.put(from, s);
        try {
            handshakes.execute(() -> s.handshake(request));
        } catch (RejectedExecutionException e) {
            sessions.remove(from);
            tunnel.close("server closed");
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
        core.closing();
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
        resolver.close();
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

    private final class Session implements DatagramTransport {
        final SocketAddress client;
        final TunnelSession tunnel;
        final BlockingQueue<byte[]> inbound = new ArrayBlockingQueue<>(QUEUE_PER_SESSION);
        final AtomicBoolean pumping = new AtomicBoolean();
        final BcDtlsServerPeer peer;
        volatile boolean relaying;
        volatile boolean ended;
        volatile boolean transportClosed;
        boolean finished;
        volatile DTLSTransport dtls;
        /** The PROXY protocol header before each datagram to the destination, or null. */
        private volatile ByteBuffer proxyPrefix;
        DatagramChannel upstream;
        SelectionKey upstreamKey;

        Session(SocketAddress client, TunnelSession tunnel) {
            this.client = client;
            this.tunnel = tunnel;
            // Bouncy Castle's own handshake timeout is a backstop behind the core's deadline (checkTimers)
            this.peer = new BcDtlsServerPeer(tls, options.headerTimeout().plusSeconds(1));
        }

        void offer(byte[] data, int length) {
            if (dtls != null && !DtlsRecords.wellFramed(ByteBuffer.wrap(data, 0, length), peer.minProtectedRecord(),
                    MAX_RECORDS_PER_DATAGRAM)) {
                return; // RFC 6347 4.1.2.7: dropped without an answer
            }
            byte[] copy = new byte[length];
            System.arraycopy(data, 0, copy, 0, length);
            if (!inbound.offer(copy)) {
                LOG.debug("UDP session from {}: inbound queue full, datagram dropped", client);
                return;
            }
            if (relaying) {
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

        /** Runs on the handshake pool: handshake, header, then the core's steps up to the relay. */
        void handshake(DTLSRequest request) {
            try {
                dtls = new DTLSServerProtocol().accept(peer, this, request);
            } catch (IOException | RuntimeException e) {
                // an alert this side raised carries its reason (a refused certificate names itself); else the last
                // alert either side sent says more than the exception
                String why = e instanceof org.bouncycastle.tls.TlsFatalAlert && e.getMessage() != null
                        ? e.getMessage() : peer.alertSummary() != null ? peer.alertSummary() : describe(e);
                act(tunnel.handshakeFailed("DTLS: " + why, System.nanoTime()));
                return;
            }
            Step step = tunnel.handshakeDone(null, peer.peerIdentity(), System.nanoTime());
            if (step != Step.WAIT) {
                act(step);
                return;
            }
            byte[] buf = PUMP_BUFFER.get();
            int n = -1;
            try {
                while (n < 0 && !peer.closeNotifyReceived()) {
                    long left = tunnel.nextDeadline() - System.nanoTime();
                    if (left <= 0 || ended) {
                        act(tunnel.tick(System.nanoTime())); // REFUSE at the deadline, END if the timer was first
                        return;
                    }
                    n = dtls.receive(buf, 0, buf.length, (int) Math.max(1, Math.min(100, (left + 999_999) / 1_000_000)));
                }
            } catch (IOException | RuntimeException e) {
                act(tunnel.failed("DTLS: " + describe(e), System.nanoTime()));
                return;
            }
            if (n < 0) {
                act(tunnel.failed("client closed before sending a header", System.nanoTime()));
                return;
            }
            act(tunnel.header(ByteBuffer.wrap(buf, 0, n), System.nanoTime()));
        }

        /** Carries out the core's steps on the handshake thread until the relay runs or the session ends. */
        private void act(Step first) {
            Step step = first;
            while (true) {
                switch (step) {
                    case WAIT:
                        return;
                    case RESOLVE:
                        step = resolver.resolveAndWait(tunnel);
                        break;
                    case DIAL:
                        step = connect();
                        break;
                    case RELAY:
                        relaying = true;
                        toRegister.add(this);
                        selector.wakeup();
                        schedulePump();
                        return;
                    default:
                        finish();
                        return;
                }
            }
        }

        private Step connect() {
            DatagramChannel up = null;
            try {
                up = DatagramChannel.open();
                up.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                up.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                up.connect(tunnel.dialAddress());
                up.configureBlocking(false);
            } catch (IOException e) {
                if (up != null) {
                    try {
                        up.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
                return tunnel.dialFailed(String.valueOf(e.getMessage()), System.nanoTime());
            }
            synchronized (this) {
                upstream = up;
            }
            Step step = tunnel.dialSucceeded(System.nanoTime());
            if (step != Step.RELAY) {
                finish();
            } else {
                byte[] h = tunnel.proxyHeader(localAddress);
                proxyPrefix = h == null ? null : ByteBuffer.wrap(h).asReadOnlyBuffer();
            }
            return step;
        }

        void register() {
            if (!relaying || upstream == null) {
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
                while (relaying) {
                    int n = dtls.receivePending(buf, 0, buf.length);
                    if (n < 0) {
                        if (inbound.isEmpty()) {
                            break;
                        }
                        n = dtls.receive(buf, 0, buf.length, 1);
                    }
                    if (peer.closeNotifyReceived()) {
                        tunnel.directionEnded(TunnelSession.Direction.TO_DESTINATION, System.nanoTime());
                        end("client sent close_notify");
                        return;
                    }
                    if (n >= 0) {
                        toDestination(buf, n);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (peer.closeNotifyReceived()) { // Bouncy Castle throws "session closed" once close_notify came
                    tunnel.directionEnded(TunnelSession.Direction.TO_DESTINATION, System.nanoTime());
                    end("client sent close_notify");
                } else {
                    end("DTLS failed: " + describe(e));
                }
                return;
            } finally {
                pumping.set(false);
            }
            if (!inbound.isEmpty() && relaying) {
                schedulePump();
            }
        }

        private void toDestination(byte[] buf, int n) {
            try {
                ByteBuffer prefix = proxyPrefix;
                long written = prefix == null ? upstream.write(ByteBuffer.wrap(buf, 0, n))
                        : upstream.write(new ByteBuffer[] {prefix.duplicate(), ByteBuffer.wrap(buf, 0, n)});
                if (written > 0) {
                    tunnel.relayedToDestination(n, System.nanoTime());
                }
            } catch (PortUnreachableException e) {
                LOG.debug("UDP session from {}: destination unreachable (ICMP); session kept", client);
            } catch (IOException e) {
                end("writing to the destination failed: " + e.getMessage());
            }
        }

        /** On the selector thread. */
        void readDestination() {
            for (int i = 0; i < 64 && relaying; i++) {
                fromDestination.clear();
                int n;
                try {
                    n = upstream.read(fromDestination);
                } catch (PortUnreachableException e) {
                    LOG.debug("UDP session from {}: destination unreachable (ICMP); session kept", client);
                    continue;
                } catch (IOException e) {
                    end("destination socket failed: " + e.getMessage());
                    return;
                }
                if (n <= 0) {
                    return;
                }
                if (n > MAX_DATAGRAM) {
                    events.datagramDropped(tunnel.info(), n, "over the " + MAX_DATAGRAM + "-byte DTLS record limit");
                    continue;
                }
                fromDestination.flip();
                fromDestination.get(toClient, 0, n);
                // counted before it goes: the client may answer it with close_notify, which the pump thread turns
                // into the session's close report before this thread would count it after the send
                tunnel.relayedFromDestination(n, System.nanoTime());
                try {
                    dtls.send(toClient, 0, n);
                } catch (IOException | RuntimeException e) {
                    end("sending to the client failed: " + describe(e));
                    return;
                }
            }
        }

        /** On the selector thread: the core's deadlines. */
        void checkTimers(long now) {
            Step step = tunnel.tick(now);
            if (step == Step.WAIT) {
                return;
            }
            if (relaying) {
                finish();
            } else if (dtls == null) {
                // the handshake thread is blocked in Bouncy Castle's handshake: wake it; it finds the session ended
                ended = true;
                transportClosed = true;
                sessions.remove(client, this);
            } else {
                // the handshake thread waits for the header in slices of 100 ms: it sees this and sends close_notify
                ended = true;
            }
        }

        /** Ends the session, relaying or not. */
        void end(String why) {
            tunnel.close(why);
            finish();
        }

        private synchronized void finish() {
            if (finished) {
                return;
            }
            finished = true;
            ended = true;
            relaying = false;
            tunnel.close("ended");
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
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m != null ? ": " + m : "");
    }
}

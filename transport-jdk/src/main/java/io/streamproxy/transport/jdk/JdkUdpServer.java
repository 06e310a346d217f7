package io.streamproxy.transport.jdk;

import io.streamproxy.Destination;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.protocol.dtls.DtlsEngines;
import io.streamproxy.protocol.dtls.DtlsServerSession;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
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

    private final StreamServerOptions options;
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
    private final DtlsServerSession.Counters counters = new DtlsServerSession.Counters();
    private long lastTick;
    private volatile boolean closed;

    JdkUdpServer(StreamServerOptions options) throws IOException {
        this.options = options;
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
        return counters.relaying();
    }

    @Override
    public String description() {
        return "JDK DTLS engine, one selector thread";
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
            s.logic.fromClient(datagram, System.nanoTime());
        }
    }

    /** A new source: only a DTLS ClientHello within the caps creates state. */
    private Session newSession(SocketAddress from) {
        if (!DtlsServerSession.looksLikeClientHello(datagram)) {
            return null;
        }
        if (counters.handshaking() >= options.maxHandshakes()) {
            LOG.debug("UDP handshake from {} dropped: {} handshakes in progress", from, counters.handshaking());
            return null;
        }
        if (counters.relaying() >= options.maxSessions()) {
            LOG.debug("UDP handshake from {} dropped: {} sessions", from, counters.relaying());
            return null;
        }
        Session s = new Session(from);
        s.logic = new DtlsServerSession(DtlsEngines.server(dtls), from, options, counters, s, scratch,
                System.nanoTime());
        sessions.put(from, s);
        return s;
    }

    private void readDestination(Session s) {
        for (int i = 0; i < MAX_READS_PER_WAKEUP && s.upstream != null; i++) {
            datagram.clear();
            int n;
            try {
                n = s.upstream.read(datagram);
            } catch (PortUnreachableException e) {
                LOG.debug("UDP session from {}: destination unreachable (ICMP); session kept", s.client);
                continue;
            } catch (IOException e) {
                s.logic.end("destination socket failed: " + e.getMessage());
                return;
            }
            if (n <= 0) {
                return;
            }
            datagram.flip();
            s.logic.fromDestination(datagram, System.nanoTime());
        }
    }

    private void tick(long now) {
        for (Session s : new ArrayList<>(sessions.values())) {
            s.logic.tick(now);
        }
    }

    private void transmit(SocketAddress to, ByteBuffer data) throws IOException {
        if (channel.send(data, to) == 0) {
            LOG.debug("UDP send buffer full: datagram to {} dropped", to);
        }
    }

    private void shutdownSessions() {
        for (Session s : new ArrayList<>(sessions.values())) {
            s.logic.end("server closed");
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

    // ---------------------------------------------------------------- one client address: the socket side

    /** The sockets of one session; the protocol logic is the shared {@link DtlsServerSession}. */
    private final class Session implements DtlsServerSession.Io {
        final SocketAddress client;
        DtlsServerSession logic;
        DatagramChannel upstream;
        SelectionKey upstreamKey;

        Session(SocketAddress client) {
            this.client = client;
        }

        @Override
        public void toClient(ByteBuffer data) throws IOException {
            transmit(client, data);
        }

        @Override
        public void openDestination(Destination destination) {
            String host = destination.host();
            if (TcpSessions.isIpLiteral(host)) {
                try {
                    connect(InetAddress.getByName(host), destination.port());
                    logic.destinationOpened();
                } catch (IOException e) {
                    logic.destinationFailed(e.getMessage());
                }
                return;
            }
            long deadline = System.nanoTime() + options.dialTimeout().toNanos();
            try {
                resolver.execute(() -> {
                    InetAddress found = null;
                    String failure = null;
                    try {
                        found = InetAddress.getAllByName(host)[0];
                    } catch (IOException e) {
                        failure = e.getMessage();
                    }
                    InetAddress address = found;
                    String why = failure;
                    tasks.add(() -> {
                        if (address == null || System.nanoTime() > deadline) {
                            logic.destinationFailed("resolving " + host + ": "
                                    + (why != null ? why : "took longer than " + options.dialTimeout()));
                            return;
                        }
                        try {
                            connect(address, destination.port());
                            logic.destinationOpened();
                        } catch (IOException e) {
                            logic.destinationFailed(e.getMessage());
                        }
                    });
                    selector.wakeup();
                });
            } catch (RuntimeException e) {
                logic.destinationFailed("resolver busy");
            }
        }

        private void connect(InetAddress address, int port) throws IOException {
            if (logic.isEnded()) {
                throw new IOException("session ended");
            }
            DatagramChannel up = DatagramChannel.open();
            try {
                up.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                up.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                up.connect(new InetSocketAddress(address, port));
                up.configureBlocking(false);
                upstreamKey = up.register(selector, SelectionKey.OP_READ, this);
            } catch (IOException e) {
                up.close();
                throw e;
            }
            upstream = up;
        }

        @Override
        public boolean toDestination(ByteBuffer datagram) throws IOException {
            return upstream.write(datagram) > 0;
        }

        @Override
        public void closeDestination() {
            if (upstream != null) {
                upstreamKey.cancel();
                try {
                    upstream.close();
                } catch (IOException e) {
                    // closing
                }
                upstream = null;
            }
        }

        @Override
        public void ended() {
            sessions.remove(client);
        }
    }
}

package io.streamproxy.transport.jdk;

import io.streamproxy.Protocol;
import io.streamproxy.SessionInfo;
import io.streamproxy.SessionListener;
import io.streamproxy.StreamServerOptions;
import io.streamproxy.TlsCredentials;
import io.streamproxy.internal.NamedThreads;
import io.streamproxy.internal.Resolver;
import io.streamproxy.internal.SessionEvents;
import io.streamproxy.protocol.SessionCore;
import io.streamproxy.protocol.TunnelSession;
import io.streamproxy.protocol.dtls.DtlsClientTable;
import io.streamproxy.protocol.dtls.DtlsCookieFront;
import io.streamproxy.protocol.dtls.DtlsEngines;
import io.streamproxy.protocol.dtls.DtlsServerSession;
import io.streamproxy.protocol.dtls.DtlsScratch;
import io.streamproxy.spi.ServerEndpoint;
import java.io.IOException;
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
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK transport's UDP-over-DTLS server: one UDP socket, one {@link Selector} thread for it and every
 * destination socket, one DTLS engine per client address. New sources must pass the stateless, address-bound
 * cookie exchange of {@link DtlsCookieFront} ({@link DtlsClientTable} demultiplexes) before they get an engine and a
 * handshake slot (within the server's and the source's handshake limits);
 * handshake plus header are bounded by the header timeout; each relaying session has its own connected destination
 * socket and ends on close_notify, a fatal alert, a probe, an invalid header, the idle timeout or server close.
 */
final class JdkUdpServer implements ServerEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(JdkUdpServer.class);
    private static final int SOCKET_BUFFER = 4 << 20;
    private static final int MAX_READS_PER_WAKEUP = 256;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final StreamServerOptions options;
    private volatile SSLContext dtls;
    private final DatagramChannel channel;
    private final Selector selector;
    private final InetSocketAddress localAddress;
    private final DtlsClientTable table;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Resolver resolver;
    private final SessionListener events;
    private final DtlsScratch scratch = new DtlsScratch();
    private final ByteBuffer datagram = ByteBuffer.allocateDirect(65536);
    private final Thread loop;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final SessionCore core;
    private long lastTick;
    private volatile boolean closed;

    JdkUdpServer(StreamServerOptions options) throws IOException {
        this.options = options;
        this.events = SessionEvents.reporting(options.listener());
        this.core = new SessionCore(Protocol.UDP, options, events);
        this.table = new DtlsClientTable(core, new DtlsClientTable.Sessions() {
            @Override
            public DtlsServerSession create(SocketAddress client, TunnelSession tunnel) {
                Session s = new Session(client);
                s.logic = new DtlsServerSession(DtlsEngines.server(dtls), tunnel, s, options.dtlsMtu(), scratch);
                return s.logic;
            }

            @Override
            public void send(SocketAddress to, ByteBuffer datagram) throws IOException {
                transmit(to, datagram);
            }

            @Override
            public SSLEngine engine() {
                return DtlsEngines.server(dtls);
            }
        });
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
        this.resolver = new Resolver("stream-proxy-jdk-udp-resolve");
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
        return core.activeSessions();
    }

    @Override
    public void updateCredentials(TlsCredentials credentials) throws IOException {
        try {
            this.dtls = credentials.newSslContext("DTLSv1.2"); // engines made before keep the old context
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the DTLS context: " + e.getMessage(), e);
        }
    }

    @Override
    public void drain() {
        core.drain();
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
                // the tick times sessions only: with none, sleep until a datagram, a task or close wakes the loop
                selector.select(table.size() == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(TICK_NANOS) + 1);
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
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        LOG.warn("UDP server task failed", e);
                    }
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
            table.fromClient(from, datagram, System.nanoTime());
        }
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
            guarded(s, () -> s.logic.fromDestination(datagram, System.nanoTime()));
        }
    }

    private void tick(long now) {
        table.tick(now);
    }

    /** Runs session code so that a bug in one session ends that session, never the server's loop. */
    private void guarded(Session s, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("UDP session from {} failed; ending it", s.client, e);
            try {
                s.logic.end("internal error: " + e);
            } catch (RuntimeException again) {
                s.closeDestination();
                s.ended();
            }
        }
    }

    private void transmit(SocketAddress to, ByteBuffer data) throws IOException {
        if (channel.send(data, to) == 0) {
            LOG.debug("UDP send buffer full: datagram to {} dropped", to);
        }
    }

    private void shutdownSessions() {
        core.closing();
        table.endAll("server closed");
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
        resolver.close();
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
        public void resolve(String host, long deadline) {
            resolver.resolve(host, deadline, task -> {
                tasks.add(task);
                selector.wakeup();
            }, Resolver.Callback.of(logic::resolved, logic::resolveFailed));
        }

        @Override
        public void connect(InetSocketAddress address) {
            try {
                open(address);
            } catch (IOException e) {
                logic.destinationFailed(e.getMessage() == null ? e.toString() : e.getMessage());
                return;
            }
            logic.destinationOpened();
        }

        @Override
        public void dropped(SessionInfo session, int size, String reason) {
            events.datagramDropped(session, size, reason);
        }

        private void open(InetSocketAddress address) throws IOException {
            if (logic.isEnded()) {
                throw new IOException("session ended");
            }
            DatagramChannel up = DatagramChannel.open();
            try {
                up.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                up.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                up.connect(address);
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

        private final ByteBuffer[] gather = new ByteBuffer[2];

        @Override
        public boolean toDestination(ByteBuffer prefix, ByteBuffer datagram) throws IOException {
            gather[0] = prefix.duplicate(); // one datagram: a gathering write on a connected channel
            gather[1] = datagram;
            try {
                return upstream.write(gather) > 0;
            } finally {
                gather[0] = null;
                gather[1] = null;
            }
        }

        @Override
        public SocketAddress serverAddress() {
            return localAddress;
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
        public void established() {
            table.established(logic);
        }

        @Override
        public void ended() {
            table.ended(logic);
        }
    }
}

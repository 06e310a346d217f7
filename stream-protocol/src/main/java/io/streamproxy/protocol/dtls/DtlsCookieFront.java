package io.streamproxy.protocol.dtls;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;

/**
 * The DTLS 1.2 cookie exchange (RFC 6347 4.2.1) in front of a server's engines, so that an address that holds no
 * session costs the server no engine and no handshake slot until it proves it receives at that address. A
 * ClientHello without a valid cookie is answered with the HelloVerifyRequest of a throwaway engine (the JDK's cookie
 * is a hash of the hello's parameters and a secret of the {@code SSLContext}, the same for every engine, so the
 * engine that later runs the handshake accepts it, and the client sees one HelloVerifyRequest, as every DTLS client
 * expects); the engine is dropped at once. The JDK's cookie is not bound to the client's address, so the front
 * binds it: each cookie it hands out is recorded as a keyed 64-bit tag of cookie, address and port in a fixed table
 * of 65,536 entries (512 KiB, no allocation; a flood only overwrites entries), and only a ClientHello whose cookie
 * was handed out to its own address is {@link Verdict#VERIFIED}. The table is {@value #WAYS}-way set-associative: a
 * tag goes to one of 16,384 buckets and takes the bucket's oldest entry, so that clients whose tags share a bucket
 * do not push each other out. (It was direct-mapped: two of fifty concurrent handshakes shared an entry about one
 * time in fifty, each answer then evicted the other's cookie, and both went on getting HelloVerifyRequests until
 * one gave up.) A cookie replayed from another address is answered
 * with a HelloVerifyRequest, no larger than what was sent: no reflection. Not thread-safe: one front per receive
 * loop.
 */
public final class DtlsCookieFront {
    /** What to do with a datagram. */
    public enum Verdict {
        /** Not a well-formed initial ClientHello (epoch 0, its first fragment): drop it, or give it to the session. */
        NOT_A_CLIENT_HELLO,
        /** A ClientHello without a valid cookie: send the HelloVerifyRequest written to the reply buffer. */
        ANSWERED,
        /** A ClientHello with a cookie handed out to its address: the client owns it; start a handshake. */
        VERIFIED
    }

    private static final int TABLE = 1 << 16;
    private static final int WAYS = 4;

    private final Supplier<SSLEngine> engines;
    private final Mac mac;
    private final long[] issued;
    /** Per bucket, the way its next new tag takes (round robin: the oldest). */
    private final byte[] nextWay;
    private final int bucketMask;
    private final byte[] tag = new byte[32];
    private final ByteBuffer scratchIn = ByteBuffer.allocate(1024);
    // the JDK's engine wants room for its largest packet and application data, whatever it writes
    private final ByteBuffer scratchOut = ByteBuffer.allocate(32 * 1024);
    private final ByteBuffer sink = ByteBuffer.allocate(32 * 1024);
    private final ByteBuffer empty = ByteBuffer.allocate(0);

    /**
     * Creates a front.
     *
     * @param engines new server engines of the server's {@code SSLContext} (one answers each cookie-less hello)
     */
    public DtlsCookieFront(Supplier<SSLEngine> engines) {
        this(engines, TABLE);
    }

    /**
     * Creates a front with a table of {@code entries} (a power of two, at least {@value #WAYS}), for tests.
     *
     * @param engines as for {@link #DtlsCookieFront(Supplier)}
     * @param entries the table's size
     */
    DtlsCookieFront(Supplier<SSLEngine> engines, int entries) {
        if (entries < WAYS || Integer.bitCount(entries) != 1) {
            throw new IllegalArgumentException("entries must be a power of two of at least " + WAYS);
        }
        this.issued = new long[entries];
        this.nextWay = new byte[entries / WAYS];
        this.bucketMask = entries / WAYS - 1;
        this.engines = engines;
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        try {
            this.mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /**
     * Tells whether a datagram starts with a well-formed initial ClientHello (epoch 0, handshake type 1, the whole
     * message or its first fragment), the only datagram that may start a handshake.
     *
     * @param datagram position to limit; not moved
     * @return true for such a ClientHello
     */
    public static boolean isClientHello(ByteBuffer datagram) {
        return Hello.parse(datagram) != null;
    }

    /**
     * Checks a datagram from an address that holds no session (or whose session is established and that starts
     * over): answers or verifies it.
     *
     * @param datagram position to limit; not moved
     * @param from     where it came from
     * @param reply    receives the HelloVerifyRequest (cleared, written, flipped) with {@link Verdict#ANSWERED}
     * @param now      {@link System#nanoTime()} (unused: the table needs no clock)
     * @return the verdict
     */
    public Verdict check(ByteBuffer datagram, SocketAddress from, ByteBuffer reply, long now) {
        Hello h = Hello.parse(datagram);
        if (h == null || !(from instanceof InetSocketAddress)
                || ((InetSocketAddress) from).getAddress() == null) {
            return Verdict.NOT_A_CLIENT_HELLO;
        }
        InetSocketAddress source = (InetSocketAddress) from;
        if (h.cookieLength > 0) {
            long t = tag(datagram, h.cookieAt, h.cookieLength, source);
            if (wayOf(t) >= 0) {
                return Verdict.VERIFIED;
            }
        }
        return answer(datagram, h, source, reply) ? Verdict.ANSWERED : Verdict.NOT_A_CLIENT_HELLO;
    }

    /**
     * Has a throwaway engine answer the hello's parameters (version, random, session id, cipher suites,
     * compression: what the JDK's cookie covers; extensions are left out, so a hello whose first fragment is all
     * that came is answered too), records the cookie's tag for the source and writes the HelloVerifyRequest with the
     * hello's record and message sequence numbers.
     */
    private boolean answer(ByteBuffer d, Hello h, InetSocketAddress source, ByteBuffer reply) {
        int p = d.position();
        int parameters = (h.cookieAt - 1 - h.bodyAt) + (h.extensionsAt - h.cookieAt - h.cookieLength);
        int body = parameters + 1;
        ByteBuffer in = scratchIn;
        in.clear();
        if (13 + 12 + body > in.capacity()) {
            return false;
        }
        in.put((byte) 22).put(d.get(p + 1)).put(d.get(p + 2));
        in.putShort((short) 0).putShort((short) 0).putInt(0); // epoch 0, record 0
        in.putShort((short) (12 + body));
        in.put((byte) 1).put((byte) 0).putShort((short) body).putShort((short) 0);
        in.put((byte) 0).putShort((short) 0).put((byte) 0).putShort((short) body);
        for (int i = h.bodyAt; i < h.cookieAt - 1; i++) {
            in.put(d.get(i));
        }
        in.put((byte) 0);
        for (int i = h.cookieAt + h.cookieLength; i < h.extensionsAt; i++) {
            in.put(d.get(i));
        }
        in.flip();
        ByteBuffer out = scratchOut;
        out.clear();
        try {
            SSLEngine engine = engines.get();
            engine.beginHandshake();
            sink.clear();
            SSLEngineResult r = engine.unwrap(in, sink);
            while (engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                engine.getDelegatedTask().run();
            }
            r = engine.wrap(empty, out);
            engine.closeOutbound();
            if (r.getStatus() != SSLEngineResult.Status.OK) {
                return false;
            }
        } catch (javax.net.ssl.SSLException | RuntimeException e) {
            return false;
        }
        out.flip();
        // the engine's HelloVerifyRequest: record header, handshake header (type 3), version, cookie
        if (out.remaining() < 13 + 12 + 3 || out.get(0) != 22 || out.get(13) != 3) {
            return false;
        }
        int cookieLength = out.get(13 + 12 + 2) & 0xff;
        int cookieAt = 13 + 12 + 3;
        if (cookieAt + cookieLength > out.limit() || reply.capacity() < out.remaining()) {
            return false;
        }
        long t = tag(out, cookieAt, cookieLength, source);
        if (wayOf(t) < 0) { // a cookie handed out again (a retransmitted hello) keeps its entry
            int bucket = (int) t & bucketMask;
            issued[bucket * WAYS + nextWay[bucket]] = t;
            nextWay[bucket] = (byte) ((nextWay[bucket] + 1) % WAYS);
        }
        reply.clear();
        reply.put(out);
        for (int i = 5; i < 11; i++) {
            reply.put(i, d.get(p + i)); // the hello's record sequence number (RFC 6347 4.2.1)
        }
        reply.put(17, d.get(p + 17)).put(18, d.get(p + 18)); // its message_seq
        reply.flip();
        return true;
    }

    /** @return the way of its bucket that holds {@code t}, or -1 */
    private int wayOf(long t) {
        int base = ((int) t & bucketMask) * WAYS;
        for (int way = 0; way < WAYS; way++) {
            if (issued[base + way] == t) {
                return way;
            }
        }
        return -1;
    }

    /** The keyed tag of a cookie handed to an address and port; never 0 (an empty table entry). */
    private long tag(ByteBuffer d, int at, int length, InetSocketAddress source) {
        for (int i = 0; i < length; i++) {
            mac.update(d.get(at + i));
        }
        mac.update(source.getAddress().getAddress());
        mac.update((byte) (source.getPort() >>> 8));
        mac.update((byte) source.getPort());
        try {
            mac.doFinal(tag, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        long t = 0;
        for (int i = 0; i < 8; i++) {
            t = t << 8 | (tag[i] & 0xff);
        }
        return t == 0 ? 1 : t;
    }

    /**
     * Returns the ClientHello the client sent before it had a cookie, rebuilt from a verified one (the cookie
     * removed, message_seq 0, the record number one lower), for {@link DtlsServerSession#startVerified} to give the
     * engine first: the engine then stands where it would after its own HelloVerifyRequest, and answers the verified
     * hello with a ServerHello of message_seq 1.
     *
     * @param verified a {@link Verdict#VERIFIED} ClientHello; not moved
     * @return a new buffer
     */
    public static ByteBuffer withoutCookie(ByteBuffer verified) {
        Hello h = Hello.parse(verified);
        if (h == null || h.fragmentLength != h.helloLength) {
            throw new IllegalArgumentException("not a whole ClientHello");
        }
        int p = verified.position();
        int cut = h.cookieLength;
        int recordEnd = p + 13 + h.recordLength;
        ByteBuffer out = ByteBuffer.allocate(13 + h.recordLength - cut);
        for (int i = p; i < h.cookieAt - 1; i++) {
            out.put(verified.get(i));
        }
        out.put((byte) 0); // no cookie
        for (int i = h.cookieAt + cut; i < recordEnd; i++) {
            out.put(verified.get(i));
        }
        out.flip();
        // a record number below the verified hello's, or the engine would take that one for a replay of this one
        long seq = (out.getShort(5) & 0xffffL) << 32 | (out.getInt(7) & 0xffffffffL);
        seq = Math.max(0, seq - 1);
        out.putShort(5, (short) (seq >>> 32)).putInt(7, (int) seq);
        out.putShort(11, (short) (h.recordLength - cut));
        int length = h.helloLength - cut;
        HandshakeMessage.put24(out, 14, length);
        out.putShort(17, (short) 0);
        HandshakeMessage.put24(out, 22, length);
        return out;
    }

    /** Offsets of the first record's ClientHello, absolute in the buffer. */
    private static final class Hello {
        int recordLength;
        int helloLength;
        int fragmentLength;
        int bodyAt;
        int cookieAt;
        int cookieLength;
        int extensionsAt;

        static Hello parse(ByteBuffer d) {
            int p = d.position();
            int n = d.remaining();
            if (n < 13 + 12 + 2 + 32 + 1 + 1 + 2 + 2 + 1 + 1) {
                return null;
            }
            int v = d.get(p + 2) & 0xff;
            if (d.get(p) != 22 || (d.get(p + 1) & 0xff) != 0xfe || (v != 0xff && v != 0xfd)
                    || d.get(p + 3) != 0 || d.get(p + 4) != 0) {
                return null;
            }
            Hello h = new Hello();
            h.recordLength = d.getShort(p + 11) & 0xffff;
            if (13 + h.recordLength > n || h.recordLength < 12) {
                return null;
            }
            int q = p + 13;
            h.helloLength = HandshakeMessage.uint24(d, q + 1);
            int fragment = HandshakeMessage.uint24(d, q + 9);
            if (d.get(q) != 1 || HandshakeMessage.uint24(d, q + 6) != 0 || fragment > h.helloLength
                    || 12 + fragment > h.recordLength) {
                return null;
            }
            h.fragmentLength = fragment;
            int end = q + 12 + fragment; // the first fragment holds all the cookie covers
            h.bodyAt = q + 12;
            int i = h.bodyAt + 2 + 32;
            int sid = d.get(i) & 0xff;
            if (sid > 32) {
                return null;
            }
            i += 1 + sid;
            if (i >= end) {
                return null;
            }
            h.cookieLength = d.get(i) & 0xff;
            h.cookieAt = i + 1;
            i = h.cookieAt + h.cookieLength;
            if (i + 2 > end) {
                return null;
            }
            int suites = d.getShort(i) & 0xffff;
            if (suites < 2 || (suites & 1) != 0) {
                return null;
            }
            i += 2 + suites;
            if (i + 1 > end) {
                return null;
            }
            int compression = d.get(i) & 0xff;
            if (compression < 1) {
                return null;
            }
            i += 1 + compression;
            if (i > end) {
                return null;
            }
            h.extensionsAt = i;
            return h;
        }
    }

    /**
     * Collects the fragments of one ClientHello (a large one, with a session ticket, spans datagrams) from the
     * datagrams of a verified client, and rebuilds it as one unfragmented record, which the engine reads the same
     * way (the handshake transcript covers the message, not its fragments). Bounded: a hello over 16384 bytes fails.
     */
    public static final class HelloAssembly {
        private static final int MAX = 16384;
        private final ByteBuffer first;
        private final HandshakeMessage hello;
        private boolean whole;

        /**
         * Starts with the datagram the front verified.
         *
         * @param first a {@link Verdict#VERIFIED} datagram; not moved
         * @throws IllegalArgumentException if it is not a ClientHello or too large
         */
        public HelloAssembly(ByteBuffer first) {
            Hello h = Hello.parse(first);
            if (h == null || h.helloLength > MAX) {
                throw new IllegalArgumentException("not a ClientHello of at most " + MAX + " bytes");
            }
            this.first = first.duplicate();
            this.hello = new HandshakeMessage(first, first.position());
        }

        /**
         * Takes the fragments of this hello that a datagram holds (retransmitted, out of order or overlapping ones
         * too); other records are ignored.
         *
         * @param datagram position to limit; not moved
         * @return true once the hello is whole
         */
        public boolean add(ByteBuffer datagram) {
            for (int at = datagram.position(); at < datagram.limit(); ) {
                int size = DtlsRecords.recordSize(datagram, at, 0);
                if (size < 0) {
                    break;
                }
                if (DtlsRecords.type(datagram, at) == DtlsRecords.HANDSHAKE && DtlsRecords.isClear(datagram, at)
                        && HandshakeMessage.isWellFormedFragment(datagram, at, size, MAX)
                        && hello.isPartOf(datagram, at)) {
                    whole = hello.add(datagram, at);
                }
                at += size;
            }
            return whole;
        }

        /** @return the whole hello as one unfragmented record (once {@link #add} returned true) */
        public ByteBuffer whole() {
            return ByteBuffer.wrap(hello.record(first, first.position()));
        }
    }
}

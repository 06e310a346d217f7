package io.streamproxy.spi;

/**
 * The buffer of a blocking relay pump, which holds it for as long as the tunnel is open, idle or not: it starts at
 * {@value #FIRST} bytes and doubles, up to its maximum, each time a read fills it, so that an idle or interactive
 * tunnel holds a few KiB while a bulk transfer reads in large chunks after its first few reads. It only grows, so a
 * pump allocates at most a handful of arrays in its life, none per read. For the pumps of blocking transports and
 * forwards (the jdk server's relay, {@link StreamPortForward}); not thread-safe, one per pump.
 */
public final class RelayBuffer {
    /** The size of a new buffer. */
    public static final int FIRST = 4 * 1024;
    /** The plaintext of one TLS record, the most a TLS socket's read returns: the maximum for a TLS side. */
    public static final int TLS_RECORD = 16 * 1024;
    /** The maximum for a plain TCP side. */
    public static final int TCP = 64 * 1024;

    private final int max;
    private byte[] bytes;

    /**
     * @param max the size it grows to at most, at least {@link #FIRST}
     */
    public RelayBuffer(int max) {
        if (max < FIRST) {
            throw new IllegalArgumentException("max " + max + " < " + FIRST);
        }
        this.max = max;
        this.bytes = new byte[FIRST];
    }

    /**
     * Returns the array to read into, whole: {@code in.read(buffer.array())}.
     *
     * @return the current array
     */
    public byte[] array() {
        return bytes;
    }

    /**
     * Tells the buffer what a read into {@link #array()} returned, after its bytes were used: a read that filled the
     * array doubles it (up to the maximum) for the next read.
     *
     * @param n what the read returned
     */
    public void read(int n) {
        if (n == bytes.length && n < max) {
            bytes = new byte[Math.min(max, n * 2)];
        }
    }
}

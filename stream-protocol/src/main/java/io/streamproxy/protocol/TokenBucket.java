package io.streamproxy.protocol;

/**
 * A token bucket on a {@link System#nanoTime()} clock: {@code size} tokens, refilled at {@code perSecond}; a take
 * succeeds while a whole token is there. Not thread-safe (the core calls it under its admission lock).
 */
final class TokenBucket {
    private final double perNano;
    private final double size;
    private double tokens;
    private long last;
    private boolean started;

    /** A full bucket; its clock starts with the first call. */
    TokenBucket(double perSecond, int size) {
        this.perNano = perSecond / 1e9;
        this.size = size;
        this.tokens = size;
    }

    /** Takes one token if there is one. */
    boolean tryTake(long now) {
        refill(now);
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** @return true when the bucket is full at {@code now} (it remembers nothing a fresh bucket would not) */
    boolean isFull(long now) {
        refill(now);
        return tokens >= size;
    }

    private void refill(long now) {
        if (!started) {
            started = true;
            last = now;
        }
        long elapsed = now - last;
        if (elapsed > 0) {
            tokens = Math.min(size, tokens + elapsed * perNano);
            last = now;
        }
    }
}

package io.streamproxy;

import java.security.cert.Certificate;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * What was read from a certificate chain, remembered by the chain's exact encoding, so that a server meeting one
 * client chain again and again (a GoDoxy server makes a full handshake per connection) does not parse it each time.
 * Bounded: cleared when full, not an LRU, as a server meets far fewer distinct client chains than this.
 *
 * @param <V> what is remembered
 */
final class ChainMemo<V> {
    private static final int MAX_CHAINS = 1024;

    private final String label;
    private final ConcurrentHashMap<EncodedChain, V> seen = new ConcurrentHashMap<>();

    ChainMemo(String label) {
        this.label = label;
    }

    /** The value remembered for {@code chain}, or {@code read} applied to it (and remembered). */
    V get(Certificate[] chain, Function<Certificate[], V> read) {
        EncodedChain key = EncodedChain.of(chain, label);
        if (key == null) {
            return read.apply(chain);
        }
        V known = seen.get(key);
        if (known == null) {
            known = read.apply(chain);
            if (seen.size() >= MAX_CHAINS) {
                seen.clear();
            }
            seen.put(key, known);
        }
        return known;
    }
}

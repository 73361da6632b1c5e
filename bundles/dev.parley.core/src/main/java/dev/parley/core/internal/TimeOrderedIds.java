package dev.parley.core.internal;

import java.util.UUID;

/**
 * UUID version 7 (RFC 9562): the creation time in milliseconds first, then random bits. Rows keyed by them go to
 * the end of the primary key's B-tree instead of random places in it: usage records, written on every request, are
 * the store's hottest insert (the router benchmark's profile, benchmarks/RESULTS.md "Router overhead").
 */
final class TimeOrderedIds {
    private TimeOrderedIds() {
    }

    static UUID at(long epochMillis) {
        // A version 4 UUID's random bits, with its version nibble and the high 48 bits replaced: the variant bits
        // (IETF) are the same in both versions.
        UUID random = UUID.randomUUID();
        long msb = (epochMillis << 16) | 0x7000L | (random.getMostSignificantBits() & 0x0FFFL);
        return new UUID(msb, random.getLeastSignificantBits());
    }
}

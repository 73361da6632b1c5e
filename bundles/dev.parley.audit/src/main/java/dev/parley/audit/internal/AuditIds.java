package dev.parley.audit.internal;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;

/**
 * Time-ordered row ids: UUIDv7 (RFC 9562) written as 32 lower-case hex digits, no dashes (so that a database
 * collation that skips punctuation still orders them as bytes). The first 48 bits are the Unix time in milliseconds;
 * the 12 bits after the version are a counter within the millisecond, so ids made by one process increase strictly
 * (RFC 9562 §6.2, method 1); the last 62 bits are random, so ids made on different nodes do not collide.
 */
final class AuditIds {
    private static final HexFormat HEX = HexFormat.of();
    private static final int COUNTER_MAX = 0xFFF;

    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private long lastMillis = -1;
    private int counter;

    AuditIds(Clock clock) {
        this.clock = clock;
    }

    synchronized String next() {
        long now = clock.millis();
        if (now > lastMillis) {
            lastMillis = now;
            // Start low in the millisecond, leaving room to count up.
            counter = random.nextInt(COUNTER_MAX / 2);
        } else if (++counter > COUNTER_MAX) {
            // More than the counter holds in one millisecond (or the clock went back): borrow the next millisecond.
            lastMillis++;
            counter = 0;
        }
        long high = (lastMillis << 16) | (0x7L << 12) | counter;
        long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return HEX.toHexDigits(high) + HEX.toHexDigits(low);
    }

    /** Whether {@code id} has the form of an id this class makes. */
    static boolean isId(String id) {
        if (id == null || id.length() != 32) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }
}

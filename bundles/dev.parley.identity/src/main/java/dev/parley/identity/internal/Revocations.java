package dev.parley.identity.internal;

import dev.parley.db.Database;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * What this node refuses without asking the database on each request: sign-in sessions revoked (a family id, until
 * every access token issued for it has expired) and users whose tokens must not be honoured now (disabled, or locked
 * until some time). Changes made on this node take effect at once; {@link #refresh} reads what other nodes did and is
 * called every refresh interval, so a revocation elsewhere is honoured here within that interval.
 */
final class Revocations {
    /** A family this node learnt was revoked by another node, to tell whatever holds it open (the REVOKED event). */
    record Learnt(String familyId, String userId, String tenantId) {
    }

    private final Database database;
    private final Clock clock;
    private final Duration window;
    private final Map<String, Instant> revokedFamilies = new ConcurrentHashMap<>();
    /** User id → until when its tokens are refused ({@link Instant#MAX} while disabled). */
    private volatile Map<String, Instant> blockedUsers = Map.of();
    /** Changes made on this node since the last refresh began: user id → until (null: unblocked). */
    private final Map<String, Mark> marks = new ConcurrentHashMap<>();

    private record Mark(Instant until, long markedAt) {
    }

    /** @param window how long after its revocation a family can still hold a valid access token */
    Revocations(Database database, Clock clock, Duration window) {
        this.database = database;
        this.clock = clock;
        this.window = window;
    }

    boolean isRevoked(String familyId) {
        return revokedFamilies.containsKey(familyId);
    }

    boolean isBlocked(String userId) {
        Mark mark = marks.get(userId);
        Instant until = mark != null ? mark.until() : blockedUsers.get(userId);
        return until != null && until.isAfter(clock.instant());
    }

    void revoked(String familyId) {
        revokedFamilies.put(familyId, clock.instant());
    }

    void blocked(String userId, Instant until) {
        marks.put(userId, new Mark(until, System.nanoTime()));
    }

    void unblocked(String userId) {
        marks.put(userId, new Mark(null, System.nanoTime()));
    }

    /**
     * Reads revoked families and blocked users from the database, forgets what no longer matters, and hands each
     * family revoked elsewhere (not known here before) to {@code learnt}.
     */
    void refresh(Consumer<Learnt> learnt) {
        long started = System.nanoTime();
        Instant now = clock.instant();
        Instant since = now.minus(window);
        record Snapshot(List<IdentityStore.RevokedFamily> families, List<IdentityStore.User> blocked) {
        }
        Snapshot s = database.inTransaction("read revoked sessions", c -> new Snapshot(
                IdentityStore.revokedSince(c, since), IdentityStore.blockedUsers(c, now)));
        for (IdentityStore.RevokedFamily f : s.families()) {
            if (revokedFamilies.putIfAbsent(f.familyId(), f.revokedAt()) == null && learnt != null) {
                learnt.accept(new Learnt(f.familyId(), f.userId(), f.tenantId()));
            }
        }
        revokedFamilies.values().removeIf(at -> at.isBefore(since));
        Map<String, Instant> blocked = new HashMap<>();
        for (IdentityStore.User u : s.blocked()) {
            blocked.put(u.id(), u.disabled() ? Instant.MAX : u.lockedUntil());
        }
        // The database now says what this node changed before the read began: those marks are no longer needed.
        blockedUsers = Map.copyOf(blocked);
        marks.values().removeIf(m -> m.markedAt() - started < 0);
    }
}

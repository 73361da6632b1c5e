package dev.parley.identity.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The P-256 keys that sign Parley's access tokens, kept in the database (private keys sealed with the master key) so
 * that every node signs and verifies with the same ones. The newest key not retired signs; rotation makes a new key
 * current and retires the others, which keep verifying until every token they signed has expired (the access token
 * lifetime plus the clock skew after their retirement). Each node reads the keys again every refresh interval, and at
 * once (at most once a second) when a token names a key it does not know, so a key made on another node is picked up
 * without delay.
 */
final class SigningKeys {
    private static final Logger LOG = LoggerFactory.getLogger(SigningKeys.class);
    private static final String PURPOSE = "dev.parley.identity/signing-key/";
    private static final long MISS_RELOAD_INTERVAL_MS = 1000;

    private record Ring(ECKey current, Instant currentCreated, Map<String, ECPublicKey> verifiers) {
    }

    private final Database database;
    private final SecretSealer sealer;
    private final Clock clock;
    private final Duration verifyAfterRetirement;
    private final Duration rotationAge;
    private final SecureRandom random = new SecureRandom();
    private final AtomicLong lastMissReload = new AtomicLong(Long.MIN_VALUE / 2);
    private volatile Ring ring = new Ring(null, null, Map.of());
    /** Keys this node cannot open (sealed under a master key it lacks): logged once each, not at every refresh. */
    private final Set<String> unusable = ConcurrentHashMap.newKeySet();

    SigningKeys(Database database, SecretSealer sealer, Clock clock, Duration verifyAfterRetirement,
            Duration rotationAge) {
        this.database = database;
        this.sealer = sealer;
        this.clock = clock;
        this.verifyAfterRetirement = verifyAfterRetirement;
        this.rotationAge = rotationAge;
    }

    /** Reads the keys; makes one when there is no current key, or a new one when the current one is due. */
    void maintain() {
        load();
        Ring r = ring;
        if (r.current() == null) {
            rotate();
        } else if (!rotationAge.isZero() && r.currentCreated().plus(rotationAge).isBefore(clock.instant())) {
            LOG.info("signing key rotation due kid={} created={}", r.current().getKeyID(), r.currentCreated());
            rotate();
        }
    }

    /** Makes a new key current; the others verify for the token lifetime to come. Returns its key id. */
    String rotate() {
        String kid = newKid();
        ECKey key;
        try {
            key = new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
        } catch (JOSEException e) {
            throw new ParleyException(ErrorCode.INTERNAL, "Could not make a signing key", e);
        }
        String sealed = sealer.seal(key.toJSONString(), PURPOSE + kid);
        Instant now = clock.instant();
        database.inTransaction("store a signing key", c -> {
            IdentityStore.insertSigningKey(c, new IdentityStore.SigningKeyRow(kid, sealed, now, null));
            IdentityStore.retireOthers(c, kid, now);
            return null;
        });
        LOG.info("signing key made current kid={}", kid);
        load();
        return kid;
    }

    /** Reads the keys from the database. */
    void load() {
        Instant now = clock.instant();
        List<IdentityStore.SigningKeyRow> rows = database.inTransaction("read the signing keys",
                c -> IdentityStore.signingKeys(c, now.minus(verifyAfterRetirement)));
        ECKey current = null;
        Instant currentCreated = null;
        Map<String, ECPublicKey> verifiers = new LinkedHashMap<>();
        for (IdentityStore.SigningKeyRow row : rows) {
            ECKey key;
            try {
                key = ECKey.parse(sealer.open(row.sealedJwk(), PURPOSE + row.kid()));
                verifiers.put(row.kid(), key.toECPublicKey());
            } catch (ParseException | JOSEException | ParleyException e) {
                // A key sealed under a master key this node lacks: tokens it signed are refused here. Said once per
                // key: every refresh reads it again.
                if (unusable.add(row.kid())) {
                    LOG.error("signing key unusable kid={} reason=\"{}\" hint=\"tokens it signed are refused on this "
                            + "node; give the node the master key it was sealed with (PARLEY_MASTER_KEY or its "
                            + "previous keys)\"", row.kid(), e.getMessage());
                }
                continue;
            }
            if (current == null && row.retiredAt() == null) {
                current = key;
                currentCreated = row.createdAt();
            }
        }
        ring = new Ring(current, currentCreated, Map.copyOf(verifiers));
    }

    /** The ids of the keys this node could not open, since it started. */
    Set<String> unusable() {
        return Set.copyOf(unusable);
    }

    /** The key that signs now. */
    ECKey current() {
        ECKey k = ring.current();
        if (k == null) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "Sign-in is not ready: no signing key");
        }
        return k;
    }

    /** The public key of {@code kid}, or null when no key of that id verifies (after one reload, rate-limited). */
    ECPublicKey verificationKey(String kid) {
        ECPublicKey key = ring.verifiers().get(kid);
        if (key != null) {
            return key;
        }
        long now = System.nanoTime() / 1_000_000;
        long last = lastMissReload.get();
        if (now - last >= MISS_RELOAD_INTERVAL_MS && lastMissReload.compareAndSet(last, now)) {
            try {
                load();
            } catch (ParleyException e) {
                LOG.warn("signing keys not read reason=\"{}\"", e.getMessage());
            }
            return ring.verifiers().get(kid);
        }
        return null;
    }

    /** The key ids that verify now, newest first. */
    List<String> kids() {
        return List.copyOf(ring.verifiers().keySet());
    }

    private String newKid() {
        byte[] b = new byte[9];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}

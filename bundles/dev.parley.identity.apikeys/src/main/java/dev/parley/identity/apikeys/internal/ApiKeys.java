package dev.parley.identity.apikeys.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.db.Database;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * API keys of programs: issued (shown once), listed, revoked, and checked as a {@link BearerAuthenticator} for
 * {@code Authorization: Bearer pk-parley-…} (and {@code x-api-key} on {@code /v1/messages}, which the edge passes the
 * same way). A check costs no query while this node's {@link KeyCache} holds the key; its use is summarised as a
 * last-used time written off the request path ({@link LastUsedRecorder}), never audited per request.
 *
 * <p>Also an {@link EventHandler} of {@link IdentityEvents#REVOKED}: a revocation this node learns of drops the key
 * from its cache at once.
 */
@Component(service = { BearerAuthenticator.class, ApiKeys.class, EventHandler.class },
        configurationPid = ApiKeysConfig.PID, property = {
                ApiKeys.AUTHENTICATOR_PROPERTY + "=" + ApiKeys.ISSUER,
                EventConstants.EVENT_TOPIC + "=" + IdentityEvents.REVOKED,
                EventConstants.EVENT_FILTER + "=(" + IdentityEvents.CREDENTIAL_ID + "=*)" })
@Designate(ocd = ApiKeysConfig.class)
public final class ApiKeys implements BearerAuthenticator, EventHandler {
    /** The principal's issuer for every API key. */
    static final String ISSUER = "api-key";
    /** Service property naming the kind of credential an authenticator decides. */
    static final String AUTHENTICATOR_PROPERTY = "parley.authenticator";
    static final Duration RETRY_WHEN_UNAVAILABLE = Duration.ofSeconds(5);

    private static final Logger LOG = LoggerFactory.getLogger(ApiKeys.class);

    /** A key just created: {@link #key} is shown to its creator once and kept nowhere. */
    record Created(StoredKey stored, String key) {
        @Override
        public String toString() {
            return "Created[" + stored + "]"; // never the key
        }
    }

    private final ApiKeyStore store;
    private final KeyCache cache;
    private final LastUsedRecorder lastUsed;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final int maxExpiryDays;
    private final ScheduledExecutorService writer;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile EventAdmin events;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public ApiKeys(@Reference Database database, ApiKeysConfig config) {
        this(new ApiKeyStore(database), config, Clock.systemUTC(), System::nanoTime, true);
    }

    /** @param schedule whether to write last-used times every interval (tests call {@link #flushLastUsed}) */
    ApiKeys(ApiKeyStore store, ApiKeysConfig config, Clock clock, LongSupplier ticker, boolean schedule) {
        this.store = store;
        this.clock = clock;
        this.maxExpiryDays = config.maxExpiryDays();
        this.cache = new KeyCache(TimeUnit.SECONDS.toNanos(Math.max(0, config.cacheSeconds())),
                Math.max(100, config.cacheMaxEntries()), ticker);
        this.lastUsed = new LastUsedRecorder(store::recordLastUsed);
        if (schedule) {
            long interval = Math.max(1, config.lastUsedWriteSeconds());
            writer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "parley-apikeys-last-used");
                t.setDaemon(true);
                return t;
            });
            writer.scheduleWithFixedDelay(lastUsed::flush, interval, interval, TimeUnit.SECONDS);
        } else {
            writer = null;
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        if (writer != null) {
            writer.shutdown();
            if (!writer.awaitTermination(5, TimeUnit.SECONDS)) {
                writer.shutdownNow();
            }
        }
        lastUsed.flush(); // what was noted since the last write, before the component goes
    }

    // --- BearerAuthenticator ---------------------------------------------------------------------------------------

    @Override
    public boolean recognizes(String credential) {
        return ApiKeyFormat.hasPrefix(credential);
    }

    @Override
    public Principal authenticate(String credential) {
        ApiKeyFormat.Parsed parsed = ApiKeyFormat.parse(credential); // shape and checksum: no query for a bad key
        Optional<StoredKey> found;
        try {
            found = cache.get(parsed.id(), store::find);
        } catch (ParleyException e) {
            LOG.warn("API key could not be checked keyId={}: {}", parsed.id(), e.getMessage());
            throw new ParleyException(ErrorCode.UNAVAILABLE, "API keys cannot be checked right now",
                    RETRY_WHEN_UNAVAILABLE, null);
        }
        // The secret first: whether a key is revoked or expired is told only to whoever holds it.
        if (found.isEmpty() || !ApiKeyFormat.matches(parsed.secret(), found.get().secretSha256())) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "the API key is not valid");
        }
        StoredKey key = found.get();
        Instant now = clock.instant();
        if (key.revoked()) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "the API key has been revoked");
        }
        if (key.expiredAt(now)) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "the API key has expired");
        }
        lastUsed.used(key.id(), now);
        return principal(key);
    }

    static Principal principal(StoredKey key) {
        return new Principal(key.ownerSubject(), key.tenantId(), key.roles(), AuthMethod.API_KEY, ISSUER,
                Set.copyOf(key.scopes()), key.expiresAt(), key.id());
    }

    // --- EventHandler ----------------------------------------------------------------------------------------------

    @Override
    public void handleEvent(Event event) {
        if (event.getProperty(IdentityEvents.CREDENTIAL_ID) instanceof String id && ApiKeyFormat.isKeyId(id)) {
            cache.invalidate(id);
        }
    }

    // --- One's own keys --------------------------------------------------------------------------------------------

    /**
     * Creates a key for {@code creator}, who owns it.
     *
     * @throws ParleyException FORBIDDEN without {@link Permission#KEYS_OWN} or when the creator is itself an API key;
     *                         INVALID_REQUEST naming the field
     */
    Created create(Principal creator, KeyRules.Request request, String sourceAddress) {
        require(creator, Permission.KEYS_OWN, "create API keys");
        if (creator.method() == AuthMethod.API_KEY) {
            // A leaked key must not be able to mint keys that outlive its revocation.
            record(creator, "apikey.create", "", AuditOutcome.DENIED, sourceAddress,
                    Map.of("reason", "an API key cannot create API keys"));
            throw new ParleyException(ErrorCode.FORBIDDEN, "An API key cannot create API keys; sign in to create "
                    + "one.");
        }
        Instant now = clock.instant();
        KeyRules.Spec spec = KeyRules.check(creator, request, maxExpiryDays, now);
        for (int attempt = 0; attempt < 3; attempt++) {
            ApiKeyFormat.Issued issued = ApiKeyFormat.issue(random);
            StoredKey key = new StoredKey(issued.id(), creator.tenantId(), creator.subject(), creator.issuer(),
                    spec.name(), issued.secretSha256(), spec.roles(), spec.scopes(), now, spec.expiresAt(), null,
                    null, null);
            if (store.insert(key)) {
                cache.invalidate(key.id());
                Map<String, String> detail = new LinkedHashMap<>();
                detail.put("name", key.name());
                detail.put("owner", key.ownerSubject());
                detail.put("roles", ApiKeyStore.roles(key.roles()));
                detail.put("scopes", String.join(" ", key.scopes()));
                detail.put("expires_at", key.expiresAt() == null ? "never" : key.expiresAt().toString());
                record(creator, "apikey.create", target(key.id()), AuditOutcome.SUCCESS, sourceAddress, detail);
                LOG.info("API key created keyId={} tenant={} owner={}", key.id(), key.tenantId(), key.ownerSubject());
                return new Created(key, issued.key());
            }
        }
        // Three random 71-bit ids taken: not chance.
        throw new ParleyException(ErrorCode.INTERNAL, "Could not find a free key id");
    }

    KeyPage listOwn(Principal owner, int offset, int limit) {
        require(owner, Permission.KEYS_OWN, "list your API keys");
        return store.page(new KeyQuery(owner.tenantId(), owner.subject(), null, null, offset, limit), clock.instant());
    }

    StoredKey getOwn(Principal owner, String id) {
        require(owner, Permission.KEYS_OWN, "read your API keys");
        return find(owner.tenantId(), id).filter(k -> k.ownerSubject().equals(owner.subject()))
                .orElseThrow(() -> notFound(id));
    }

    StoredKey revokeOwn(Principal owner, String id, String sourceAddress) {
        require(owner, Permission.KEYS_OWN, "revoke your API keys");
        return revoke(owner, owner.subject(), id, sourceAddress);
    }

    // --- The tenant's keys, for its admins -------------------------------------------------------------------------

    KeyPage listTenant(Principal admin, String owner, Boolean revoked, Boolean expired, int offset, int limit) {
        require(admin, Permission.KEYS_ADMIN, "list the tenant's API keys");
        return store.page(new KeyQuery(admin.tenantId(), owner, revoked, expired, offset, limit), clock.instant());
    }

    StoredKey getInTenant(Principal admin, String id) {
        require(admin, Permission.KEYS_ADMIN, "read the tenant's API keys");
        return find(admin.tenantId(), id).orElseThrow(() -> notFound(id));
    }

    StoredKey revokeInTenant(Principal admin, String id, String sourceAddress) {
        require(admin, Permission.KEYS_ADMIN, "revoke the tenant's API keys");
        return revoke(admin, null, id, sourceAddress);
    }

    /** Writes the last-used times noted since the last write (the scheduler does this every interval). */
    int flushLastUsed() {
        return lastUsed.flush();
    }

    KeyCache cache() {
        return cache;
    }

    private StoredKey revoke(Principal actor, String owner, String id, String sourceAddress) {
        if (!ApiKeyFormat.isKeyId(id)) {
            throw notFound(id);
        }
        Instant now = clock.instant();
        ApiKeyStore.Revocation r = store.revoke(actor.tenantId(), owner, id, actor.subject(), now)
                .orElseThrow(() -> notFound(id));
        cache.invalidate(id);
        if (r.revokedNow()) {
            StoredKey key = r.key();
            EventAdmin ea = events;
            if (ea != null) {
                ea.postEvent(new Event(IdentityEvents.REVOKED, Map.of(IdentityEvents.SUBJECT, key.ownerSubject(),
                        IdentityEvents.TENANT, key.tenantId(), IdentityEvents.CREDENTIAL_ID, key.id())));
            }
            record(actor, "apikey.revoke", target(id), AuditOutcome.SUCCESS, sourceAddress,
                    Map.of("name", key.name(), "owner", key.ownerSubject()));
            LOG.info("API key revoked keyId={} tenant={} owner={} by={}", id, key.tenantId(), key.ownerSubject(),
                    actor.subject());
        }
        return r.key();
    }

    private Optional<StoredKey> find(String tenantId, String id) {
        return ApiKeyFormat.isKeyId(id) ? store.find(tenantId, id) : Optional.empty();
    }

    private void record(Principal actor, String action, String target, AuditOutcome outcome, String sourceAddress,
            Map<String, String> detail) {
        AuditLog log = audit;
        if (log != null) {
            log.record(new AuditEvent(clock.instant(), actor.subject(), actor.tenantId(), action, target, outcome,
                    sourceAddress, detail));
        }
    }

    private static void require(Principal principal, Permission permission, String what) {
        if (!principal.can(permission)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "You may not " + what + ": that needs the '"
                    + permission.slug() + "' permission.");
        }
    }

    private static String target(String id) {
        return ApiKeyFormat.displayPrefix(id);
    }

    private static ParleyException notFound(String id) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No API key " + (ApiKeyFormat.isKeyId(id) ? "'" + id + "'"
                : "with that id") + ".");
    }
}

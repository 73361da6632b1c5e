package dev.parley.identity.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Principal;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parley's built-in sign-in on this node: migrates its tables, makes the first admin, keeps the signing keys and the
 * revocation view fresh (every {@code revocationRefreshSeconds}), and serves as the {@link BearerAuthenticator} for
 * Parley's own access tokens. The REST resources of this bundle reach sign-in and user administration through it.
 *
 * <p>The configuration is required: the configuration bundle always provides it (with the environment's values, among
 * them the bootstrap password), so the first admin is never made before the configured password is known.
 */
@Component(service = { BearerAuthenticator.class, BuiltInIdentity.class }, configurationPid = IdentityConfig.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        property = BuiltInIdentity.AUTHENTICATOR_PROPERTY + "=" + BuiltInIdentity.AUTHENTICATOR_NAME)
@Designate(ocd = IdentityConfig.class)
public final class BuiltInIdentity implements BearerAuthenticator, Notices {
    static final String AUTHENTICATOR_PROPERTY = "parley.authenticator";
    static final String AUTHENTICATOR_NAME = "password";
    static final String DATA_DIR_PROPERTY = "parley.data.dir";
    private static final Duration PURGE_EVERY = Duration.ofHours(1);
    /** Sessions are removed this long after they expired (their families are long past any access token). */
    private static final Duration PURGE_AFTER = Duration.ofDays(1);
    private static final Logger LOG = LoggerFactory.getLogger(BuiltInIdentity.class);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog auditLog;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile EventAdmin eventAdmin;

    /** Issuers that other authenticators (OIDC) decide: a token of theirs is never ours, whatever its iss. */
    private final Set<String> foreignIssuers = ConcurrentHashMap.newKeySet();

    private final IdentitySettings settings;
    private final Database database;
    private final Clock clock;
    private final SigningKeys keys;
    private final PasswordHasher hasher;
    private final Revocations revocations;
    private final AccessTokens tokens;
    private final SignIn signIn;
    private final UserAdmin users;
    private final ScheduledExecutorService refresher;
    private volatile Instant lastPurge = Instant.EPOCH;

    @Activate
    public BuiltInIdentity(IdentityConfig config, BundleContext context, @Reference Database database,
            @Reference SecretSealer sealer) {
        this(IdentitySettings.from(config), database, sealer, Clock.systemUTC(),
                dataDir(context.getProperty(DATA_DIR_PROPERTY)), true);
    }

    BuiltInIdentity(IdentitySettings settings, Database database, SecretSealer sealer, Clock clock, Path dataDir,
            boolean refreshInBackground) {
        this.settings = settings;
        this.database = database;
        this.clock = clock;
        database.migrate(IdentityStore.MODULE, BuiltInIdentity.class.getClassLoader(), IdentityStore.MIGRATIONS,
                IdentityStore.MIGRATION_FILES);
        this.hasher = new PasswordHasher(settings.argon2(), settings.passwordMinLength(),
                settings.maxConcurrentHashes());
        this.keys = new SigningKeys(database, sealer, clock, settings.revocationWindow(),
                settings.signingKeyRotation());
        this.revocations = new Revocations(database, clock, settings.revocationWindow());
        this.tokens = new AccessTokens(settings, keys, clock);
        this.signIn = new SignIn(database, settings, hasher, tokens, revocations, clock, this);
        this.users = new UserAdmin(database, hasher, revocations, clock, this);
        keys.maintain();
        revocations.refresh(null);
        new Bootstrap(database, hasher, clock, this).run(settings.bootstrapAdminPassword(), dataDir);
        if (refreshInBackground) {
            refresher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "parley-identity-refresh");
                t.setDaemon(true);
                return t;
            });
            long every = settings.revocationRefresh().toMillis();
            refresher.scheduleWithFixedDelay(this::refresh, every, every, TimeUnit.MILLISECONDS);
        } else {
            refresher = null;
        }
        LOG.info("built-in sign-in ready issuer={} accessTokenMinutes={} signingKeys={}", settings.issuer(),
                settings.accessTokenLifetime().toMinutes(), keys.kids().size());
    }

    @Deactivate
    void deactivate() {
        if (refresher != null) {
            refresher.shutdownNow();
            try {
                if (!refresher.awaitTermination(5, TimeUnit.SECONDS)) {
                    LOG.warn("identity refresh did not stop within 5 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static Path dataDir(String configured) {
        return Path.of(configured == null || configured.isBlank() ? "./data" : configured);
    }

    /** One round of what other nodes did: keys, revoked sessions, blocked users; and old sessions removed. */
    void refresh() {
        try {
            keys.maintain();
            revocations.refresh(l -> revoked(l.userId(), l.tenantId(), l.familyId()));
            Instant now = clock.instant();
            if (lastPurge.plus(PURGE_EVERY).isBefore(now)) {
                lastPurge = now;
                int removed = database.inTransaction("remove expired sessions",
                        c -> IdentityStore.purgeSessions(c, now.minus(PURGE_AFTER)));
                if (removed > 0) {
                    LOG.debug("expired sessions removed count={}", removed);
                }
            }
        } catch (RuntimeException e) {
            // The view on hand stays; the next round tries again.
            LOG.warn("identity refresh failed reason=\"{}\"", e.getMessage());
        }
    }

    // --- BearerAuthenticator ----------------------------------------------------------------------------------------

    @Override
    public boolean recognizes(String credential) {
        return !foreignIssuers.contains(settings.issuer()) && tokens.looksLikeOurs(credential);
    }

    @Override
    public Principal authenticate(String credential) {
        return signIn.authenticate(credential);
    }

    @Reference(service = BearerAuthenticator.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC,
            target = "(&(issuer=*)(!(" + AUTHENTICATOR_PROPERTY + "=" + AUTHENTICATOR_NAME + ")))")
    void bindOtherAuthenticator(Map<String, Object> properties) {
        if (properties.get("issuer") instanceof String issuer) {
            foreignIssuers.add(issuer);
            if (issuer.equals(settingsIssuer())) {
                LOG.error("issuer clash issuer={} hint=\"an OIDC issuer is configured with the issuer of Parley's own "
                        + "tokens; set PARLEY_AUTH_ISSUER to another value: Parley's own tokens are not accepted "
                        + "meanwhile\"", issuer);
            }
        }
    }

    void unbindOtherAuthenticator(Map<String, Object> properties) {
        if (properties.get("issuer") instanceof String issuer) {
            foreignIssuers.remove(issuer);
        }
    }

    private String settingsIssuer() {
        // Bound before the constructor body may have run (DS binds dynamic references after activation, but a
        // static analysis cannot know): read defensively.
        return settings == null ? "" : settings.issuer();
    }

    // --- for the resources ------------------------------------------------------------------------------------------

    SignIn signIn() {
        return signIn;
    }

    UserAdmin users() {
        return users;
    }

    SigningKeys signingKeys() {
        return keys;
    }

    AccessTokens accessTokens() {
        return tokens;
    }

    PasswordHasher passwords() {
        return hasher;
    }

    // --- Notices ----------------------------------------------------------------------------------------------------

    @Override
    public void audit(AuditEvent event) {
        AuditLog log = auditLog;
        if (log != null) {
            try {
                log.record(event);
            } catch (RuntimeException e) {
                LOG.warn("audit event not recorded action={} reason=\"{}\"", event.action(), e.getMessage());
            }
        }
    }

    @Override
    public void revoked(String subject, String tenant, String credentialId) {
        EventAdmin events = eventAdmin;
        if (events != null) {
            events.postEvent(new Event(IdentityEvents.REVOKED, Map.of(IdentityEvents.SUBJECT, subject,
                    IdentityEvents.TENANT, tenant, IdentityEvents.CREDENTIAL_ID, credentialId)));
        }
    }
}

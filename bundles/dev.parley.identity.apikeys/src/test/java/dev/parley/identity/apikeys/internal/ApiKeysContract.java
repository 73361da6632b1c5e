package dev.parley.identity.apikeys.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.internal.PooledDatabase;
import dev.parley.identity.apikeys.internal.TestSupport.CountingDatabase;
import dev.parley.identity.apikeys.internal.TestSupport.MutableClock;
import dev.parley.identity.apikeys.internal.TestSupport.RecordingAudit;
import dev.parley.identity.apikeys.internal.TestSupport.RecordingEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.event.Event;

/**
 * The component with its table in a real database (H2 and PostgreSQL subclasses): keys issued, checked, listed,
 * revoked; what is stored; the cache and the last-used writes counted in database transactions.
 */
abstract class ApiKeysContract {
    static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

    protected PooledDatabase database;
    private CountingDatabase counting;
    private final MutableClock clock = new MutableClock(T0);
    private final AtomicLong nanos = new AtomicLong(1_000);
    private final RecordingEvents events = new RecordingEvents();
    private final RecordingAudit audit = new RecordingAudit();
    private ApiKeys keys;

    private final Principal alice = user("alice", "acme", Role.DEVELOPER);
    private final Principal bob = user("bob", "acme", Role.DEVELOPER);
    private final Principal acmeAdmin = user("carol", "acme", Role.ADMIN);
    private final Principal globexAdmin = user("dave", "globex", Role.ADMIN);

    protected abstract PooledDatabase open() throws Exception;

    protected void afterDatabaseClosed() throws Exception {
    }

    static Principal user(String subject, String tenant, Role... roles) {
        return new Principal(subject, tenant, Set.of(roles), AuthMethod.PASSWORD, "https://parley.local", Set.of(),
                T0.plusSeconds(3600), "session-" + subject);
    }

    @BeforeEach
    void setUp() throws Exception {
        database = open();
        counting = new CountingDatabase(database);
        keys = node();
    }

    @AfterEach
    void tearDown() throws Exception {
        database.close();
        afterDatabaseClosed();
    }

    /** A node: its own component (cache, last-used notes) on the shared database. */
    private ApiKeys node() {
        ApiKeys node = new ApiKeys(new ApiKeyStore(counting), TestSupport.config(30, 365, 60), clock, nanos::get,
                false);
        node.events = events;
        node.audit = audit;
        return node;
    }

    private ApiKeys.Created create(Principal creator, List<String> scopes, Integer days) {
        return keys.create(creator, new KeyRules.Request("ci", scopes, null, days), "127.0.0.1");
    }

    private static void assertRefused(ApiKeys node, String key, ErrorCode code, String message) {
        assertThatThrownBy(() -> node.authenticate(key)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(code);
            assertThat(e.getMessage()).isEqualTo(message);
        });
    }

    @Test
    void itsTableIsMigratedUnderThisBundlesNameFromEveryFileItCarries() throws Exception {
        Path dir = Path.of(getClass().getClassLoader().getResource(ApiKeyStore.MIGRATIONS).toURI());
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(ApiKeyStore.MIGRATION_FILES).containsExactlyInAnyOrderElementsOf(
                    files.map(f -> f.getFileName().toString()).toList());
        }
        new ApiKeyStore(database); // a second start applies nothing
        List<String> history = database.inTransaction("read the history", c -> {
            List<String> rows = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT module, version "
                    + "FROM parley_schema_history WHERE module = '" + ApiKeyStore.MODULE + "' ORDER BY version")) {
                while (rs.next()) {
                    rows.add(rs.getString(1) + " V" + rs.getInt(2));
                }
            }
            return rows;
        });
        assertThat(history).containsExactly("dev.parley.identity.apikeys V1");
    }

    @Test
    void aCreatedKeyAuthenticatesAsItsOwnerWithItsRolesAndScopes() {
        ApiKeys.Created created = create(alice, List.of("chat", "model:gpt-4o"), 30);

        assertThat(keys.recognizes(created.key())).isTrue();
        Principal p = keys.authenticate(created.key());
        assertThat(p.subject()).isEqualTo("alice");
        assertThat(p.tenantId()).isEqualTo("acme");
        assertThat(p.roles()).containsExactly(Role.DEVELOPER);
        assertThat(p.method()).isEqualTo(AuthMethod.API_KEY);
        assertThat(p.issuer()).isEqualTo("api-key");
        assertThat(p.scopes()).containsExactlyInAnyOrder("chat", "model:gpt-4o");
        assertThat(p.expiresAt()).isEqualTo(T0.plus(Duration.ofDays(30)));
        assertThat(p.credentialId()).isEqualTo(created.stored().id());
        assertThat(p.mayUseModel("gpt-4o")).isTrue();
        assertThat(p.mayUseModel("o3")).isFalse();
        assertThat(p.can(dev.parley.api.identity.Permission.CHAT)).isTrue();
        assertThat(p.can(dev.parley.api.identity.Permission.MODELS_READ)).isFalse();
    }

    @Test
    void theKeyIsStoredNowhereOnlyTheHashOfItsSecret() {
        ApiKeys.Created created = create(alice, null, null);
        String secret = ApiKeyFormat.parse(created.key()).secret();

        StringBuilder everything = new StringBuilder();
        String hash = database.inTransaction("read every column", c -> {
            String h = null;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM api_keys")) {
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        everything.append(rs.getString(i)).append('|');
                    }
                    h = rs.getString("secret_sha256");
                }
            }
            return h;
        });
        assertThat(everything.toString()).doesNotContain(secret).doesNotContain(created.key());
        assertThat(hash).isEqualTo(ApiKeyFormat.sha256(secret));
        assertThat(created.toString()).doesNotContain(secret);
    }

    @Test
    void aBadChecksumIsRefusedWithoutAQuery() {
        String key = create(alice, null, null).key();
        String mistyped = key.substring(0, 40) + (key.charAt(40) == 'a' ? 'b' : 'a') + key.substring(41);
        counting.transactions.set(0);

        assertRefused(keys, mistyped, ErrorCode.UNAUTHORIZED,
                "the API key's checksum does not match: it was mistyped or cut");
        assertRefused(keys, "pk-parley-nonsense", ErrorCode.UNAUTHORIZED, "the API key is malformed");
        assertThat(counting.transactions).hasValue(0);
    }

    @Test
    void aWellFormedKeyWithAWrongSecretOrUnknownIdIsNotValid() {
        ApiKeys.Created created = create(alice, null, null);
        ApiKeyFormat.Issued other = ApiKeyFormat.issue(new SecureRandom());
        String otherSecret = ApiKeyFormat.parse(other.key()).secret();
        String body = ApiKeyFormat.PREFIX + created.stored().id() + "_" + otherSecret;
        String wrongSecret = body + ApiKeyFormat.checksum(body);

        assertRefused(keys, wrongSecret, ErrorCode.UNAUTHORIZED, "the API key is not valid");
        assertRefused(keys, other.key(), ErrorCode.UNAUTHORIZED, "the API key is not valid");
    }

    @Test
    void checksWithinTheCacheTimeCostNoQuery() {
        String key = create(alice, null, null).key();
        keys.authenticate(key);
        counting.transactions.set(0);
        for (int i = 0; i < 100; i++) {
            keys.authenticate(key);
        }
        assertThat(counting.transactions).hasValue(0);
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(30));
        keys.authenticate(key);
        assertThat(counting.transactions).hasValue(1);
    }

    @Test
    void aKeyRevokedOnThisNodeIsRefusedAtOnceAndTheRevocationIsPostedAndAudited() {
        ApiKeys.Created created = create(alice, null, null);
        String id = created.stored().id();
        keys.authenticate(created.key()); // cached
        clock.advance(Duration.ofMinutes(5));

        StoredKey revoked = keys.revokeOwn(alice, id, "10.0.0.7");

        assertThat(revoked.revokedAt()).isEqualTo(T0.plus(Duration.ofMinutes(5)));
        assertThat(revoked.revokedBy()).isEqualTo("alice");
        assertRefused(keys, created.key(), ErrorCode.UNAUTHORIZED, "the API key has been revoked");
        assertThat(events.posted).hasSize(1);
        Event e = events.posted.get(0);
        assertThat(e.getTopic()).isEqualTo(IdentityEvents.REVOKED);
        assertThat(e.getProperty(IdentityEvents.SUBJECT)).isEqualTo("alice");
        assertThat(e.getProperty(IdentityEvents.TENANT)).isEqualTo("acme");
        assertThat(e.getProperty(IdentityEvents.CREDENTIAL_ID)).isEqualTo(id);
        assertThat(audit.events).extracting(AuditEvent::action).containsExactly("apikey.create", "apikey.revoke");
        AuditEvent a = audit.events.get(1);
        assertThat(a.actor()).isEqualTo("alice");
        assertThat(a.tenantId()).isEqualTo("acme");
        assertThat(a.target()).isEqualTo("pk-parley-" + id + "_");
        assertThat(a.outcome()).isEqualTo(AuditOutcome.SUCCESS);
        assertThat(a.sourceAddress()).isEqualTo("10.0.0.7");
        assertThat(audit.events.toString()).doesNotContain(ApiKeyFormat.parse(created.key()).secret());

        // Again: nothing changes, nothing more is posted or audited.
        clock.advance(Duration.ofMinutes(5));
        assertThat(keys.revokeOwn(alice, id, "10.0.0.7").revokedAt()).isEqualTo(revoked.revokedAt());
        assertThat(events.posted).hasSize(1);
        assertThat(audit.events).hasSize(2);
    }

    @Test
    void aKeyRevokedOnAnotherNodeStopsHereWithinTheCacheTimeOrAtOnceWithTheEvent() {
        ApiKeys other = node();
        ApiKeys.Created first = create(alice, null, null);
        ApiKeys.Created second = create(alice, null, null);
        keys.authenticate(first.key());
        keys.authenticate(second.key());

        other.revokeOwn(alice, first.stored().id(), "");
        other.revokeOwn(alice, second.stored().id(), "");

        // This node's copy is still fresh: the documented bound.
        assertThat(keys.authenticate(first.key()).subject()).isEqualTo("alice");
        // A revocation event this node learns of drops its copy at once.
        keys.handleEvent(new Event(IdentityEvents.REVOKED, Map.of(IdentityEvents.SUBJECT, "alice",
                IdentityEvents.TENANT, "acme", IdentityEvents.CREDENTIAL_ID, second.stored().id())));
        assertRefused(keys, second.key(), ErrorCode.UNAUTHORIZED, "the API key has been revoked");
        // Once the copy is older than the cache time, the revocation holds everywhere.
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(30));
        assertRefused(keys, first.key(), ErrorCode.UNAUTHORIZED, "the API key has been revoked");
    }

    @Test
    void anExpiredKeyIsRefused() {
        ApiKeys.Created created = create(alice, null, 1);
        keys.authenticate(created.key());
        clock.advance(Duration.ofDays(1).minusMillis(1));
        keys.authenticate(created.key());
        clock.advance(Duration.ofMillis(1));
        assertRefused(keys, created.key(), ErrorCode.UNAUTHORIZED, "the API key has expired");
    }

    @Test
    void useIsWrittenAsALastUsedTimeInBatchesNeverPerRequest() {
        ApiKeys.Created a = create(alice, null, null);
        ApiKeys.Created b = create(bob, null, null);
        keys.authenticate(a.key());
        keys.authenticate(b.key());
        counting.transactions.set(0);
        for (int i = 0; i < 50; i++) {
            clock.advance(Duration.ofSeconds(1));
            keys.authenticate(a.key());
            keys.authenticate(b.key());
        }
        assertThat(counting.transactions).hasValue(0);
        assertThat(keys.getOwn(alice, a.stored().id()).lastUsedAt()).isNull();

        assertThat(keys.flushLastUsed()).isEqualTo(2);
        assertThat(keys.getOwn(alice, a.stored().id()).lastUsedAt()).isEqualTo(T0.plusSeconds(50));
        assertThat(keys.getOwn(bob, b.stored().id()).lastUsedAt()).isEqualTo(T0.plusSeconds(50));
        counting.transactions.set(0);
        assertThat(keys.flushLastUsed()).isZero();
        assertThat(counting.transactions).hasValue(0);
    }

    @Test
    void anOlderLastUseFromAnotherNodeDoesNotMoveTheTimeBack() {
        ApiKeys.Created a = create(alice, null, null);
        ApiKeyStore store = new ApiKeyStore(database);
        store.recordLastUsed(Map.of(a.stored().id(), T0.plusSeconds(100)));
        store.recordLastUsed(Map.of(a.stored().id(), T0.plusSeconds(40)));
        assertThat(store.find(a.stored().id()).orElseThrow().lastUsedAt()).isEqualTo(T0.plusSeconds(100));
    }

    @Test
    void ownersSeeAndRevokeOnlyTheirOwnKeys() {
        List<String> aliceIds = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            clock.advance(Duration.ofSeconds(1));
            aliceIds.add(create(alice, null, null).stored().id());
        }
        ApiKeys.Created bobs = create(bob, null, null);

        KeyPage page = keys.listOwn(alice, 0, 2);
        assertThat(page.total()).isEqualTo(3);
        assertThat(page.keys()).extracting(StoredKey::id).containsExactly(aliceIds.get(2), aliceIds.get(1));
        assertThat(keys.listOwn(alice, 2, 2).keys()).extracting(StoredKey::id).containsExactly(aliceIds.get(0));

        assertThatThrownBy(() -> keys.getOwn(alice, bobs.stored().id())).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> keys.revokeOwn(alice, bobs.stored().id(), ""))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> keys.revokeOwn(alice, "../../etc", ""))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThat(keys.authenticate(bobs.key()).subject()).isEqualTo("bob");
        assertThat(events.posted).isEmpty();
    }

    @Test
    void adminsListTheirTenantsKeysWithFiltersAndRevokeAnyOfThem() {
        ApiKeys.Created a1 = create(alice, null, null);
        clock.advance(Duration.ofSeconds(1));
        ApiKeys.Created a2 = create(alice, null, null);
        clock.advance(Duration.ofSeconds(1));
        ApiKeys.Created b1 = create(bob, null, 1);
        create(user("erin", "globex", Role.DEVELOPER), null, null);
        keys.revokeOwn(alice, a1.stored().id(), "");
        clock.advance(Duration.ofDays(2)); // bob's key expires

        assertThat(keys.listTenant(acmeAdmin, null, null, null, 0, 50).keys()).extracting(StoredKey::id)
                .containsExactly(b1.stored().id(), a2.stored().id(), a1.stored().id());
        assertThat(keys.listTenant(acmeAdmin, "bob", null, null, 0, 50).keys()).extracting(StoredKey::id)
                .containsExactly(b1.stored().id());
        assertThat(keys.listTenant(acmeAdmin, null, true, null, 0, 50).keys()).extracting(StoredKey::id)
                .containsExactly(a1.stored().id());
        assertThat(keys.listTenant(acmeAdmin, null, false, null, 0, 50).total()).isEqualTo(2);
        assertThat(keys.listTenant(acmeAdmin, null, null, true, 0, 50).keys()).extracting(StoredKey::id)
                .containsExactly(b1.stored().id());
        assertThat(keys.listTenant(acmeAdmin, null, false, false, 0, 50).keys()).extracting(StoredKey::id)
                .containsExactly(a2.stored().id());
        KeyPage paged = keys.listTenant(acmeAdmin, null, null, null, 1, 1);
        assertThat(paged.total()).isEqualTo(3);
        assertThat(paged.keys()).extracting(StoredKey::id).containsExactly(a2.stored().id());

        // Another tenant's admin sees none of them.
        assertThat(keys.listTenant(globexAdmin, null, null, null, 0, 50).total()).isEqualTo(1);
        assertThatThrownBy(() -> keys.revokeInTenant(globexAdmin, a2.stored().id(), ""))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThat(keys.authenticate(a2.key()).subject()).isEqualTo("alice");

        StoredKey revoked = keys.revokeInTenant(acmeAdmin, a2.stored().id(), "10.1.1.1");
        assertThat(revoked.revokedBy()).isEqualTo("carol");
        assertRefused(keys, a2.key(), ErrorCode.UNAUTHORIZED, "the API key has been revoked");
        Event last = events.posted.get(events.posted.size() - 1);
        assertThat(last.getProperty(IdentityEvents.SUBJECT)).isEqualTo("alice");
        assertThat(audit.events.get(audit.events.size() - 1).actor()).isEqualTo("carol");
    }

    @Test
    void permissionsAreCheckedHereToo() {
        Principal member = user("mallory", "acme", Role.MEMBER);
        assertThatThrownBy(() -> create(member, null, null)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN);
            assertThat(e.getMessage()).contains("'keys:own'");
        });
        assertThatThrownBy(() -> keys.listTenant(alice, null, null, null, 0, 10))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        assertThatThrownBy(() -> keys.revokeInTenant(alice, "AAAAAAAAAAAA", ""))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
    }

    @Test
    void anApiKeyCannotCreateKeysButCanListAndRevokeItsOwnersKeys() {
        ApiKeys.Created created = create(alice, null, null);
        Principal viaKey = keys.authenticate(created.key());

        assertThatThrownBy(() -> create(viaKey, null, null)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN);
            assertThat(e.getMessage()).isEqualTo("An API key cannot create API keys; sign in to create one.");
        });
        assertThat(audit.events.get(audit.events.size() - 1).outcome()).isEqualTo(AuditOutcome.DENIED);
        assertThat(keys.listOwn(viaKey, 0, 10).total()).isEqualTo(1);
        keys.revokeOwn(viaKey, created.stored().id(), "");
        assertRefused(keys, created.key(), ErrorCode.UNAUTHORIZED, "the API key has been revoked");
    }

    @Test
    void invalidRequestsStoreNothing() {
        assertThatThrownBy(() -> keys.create(alice, new KeyRules.Request("ci", null, List.of("admin"), null), ""))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.param()).hasValue("roles[0]"));
        assertThat(keys.listOwn(alice, 0, 10).total()).isZero();
        assertThat(audit.events).isEmpty();
    }

    @Test
    void theDefaultLifeIsTheConfiguredLongest() {
        ApiKeys.Created created = create(alice, null, null);
        assertThat(created.stored().expiresAt()).isEqualTo(T0.plus(Duration.ofDays(365)));
        assertThat(keys.getOwn(alice, created.stored().id()).expiresAt())
                .isEqualTo(T0.plus(Duration.ofDays(365)).truncatedTo(ChronoUnit.MICROS));
    }

    @Test
    void aDatabaseOutageIsUnavailableNotUnauthorized() {
        String key = create(alice, null, null).key();
        database.close();
        assertThatThrownBy(() -> keys.authenticate(key)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(e.getMessage()).isEqualTo("API keys cannot be checked right now");
            assertThat(e.retryAfter()).hasValue(Duration.ofSeconds(5));
        });
    }
}

package dev.parley.registry.s3.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.parley.db.Database;
import dev.parley.registry.Permission;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import dev.parley.testsupport.s3.S3ProxyServer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The storage against a real S3-compatible server (S3Proxy on loopback, signatures checked) and the real PostgreSQL
 * through the real Database, with this bundle's registry migrations.
 */
class S3RegistryStorageTest {
    private static final String BUCKET = "parley-plugins";
    private static final Instant PUBLISHED = Instant.parse("2026-03-01T10:15:30.123456Z");

    private static S3ProxyServer s3;
    private static RegistryDatabase db;
    private static Database database;

    private final List<S3RegistryStorage> opened = new ArrayList<>();

    @BeforeAll
    static void startServers() throws Exception {
        s3 = new S3ProxyServer();
        s3.createBucket(BUCKET);
        db = new RegistryDatabase();
        database = db.newDatabase();
    }

    @AfterAll
    static void stopServers() throws Exception {
        try {
            if (db != null) {
                db.close();
            }
        } finally {
            if (s3 != null) {
                s3.close();
            }
        }
    }

    @BeforeEach
    void emptyTables() throws Exception {
        db.clear();
    }

    @AfterEach
    void closeStorages() {
        opened.forEach(S3RegistryStorage::deactivate);
    }

    @Test
    void storesReadsAndDeletesArtifactsUnderIdVersionAndDigest() {
        var storage = storage(config());
        byte[] jar = bytes("jar bytes of hello 1.0.0");
        String sha = sha256(jar);

        storage.putArtifact("hello", "1.0.0", sha, jar);

        assertThat(storage.artifact("hello", "1.0.0", sha)).hasValueSatisfying(b -> assertThat(b).isEqualTo(jar));
        assertThat(s3.blobs().blobExists(BUCKET, "plugins/hello/1.0.0/" + sha + ".jar")).isTrue();

        storage.putArtifact("hello", "1.0.0", sha, jar); // idempotent
        assertThat(storage.artifact("hello", "1.0.0", sha)).hasValueSatisfying(b -> assertThat(b).isEqualTo(jar));

        storage.deleteArtifact("hello", "1.0.0", sha);
        assertThat(storage.artifact("hello", "1.0.0", sha)).isEmpty();
        assertThat(s3.blobs().blobExists(BUCKET, "plugins/hello/1.0.0/" + sha + ".jar")).isFalse();
        storage.deleteArtifact("hello", "1.0.0", sha); // deleting what is gone is not an error
    }

    @Test
    void twoDigestsOfOneVersionAreSeparateObjects() {
        var storage = storage(config());
        byte[] a = bytes("publisher A's build");
        byte[] b = bytes("publisher B's build");

        storage.putArtifact("race", "2.0.0", sha256(a), a);
        storage.putArtifact("race", "2.0.0", sha256(b), b);
        storage.deleteArtifact("race", "2.0.0", sha256(b));

        assertThat(storage.artifact("race", "2.0.0", sha256(a))).hasValueSatisfying(x -> assertThat(x).isEqualTo(a));
        assertThat(storage.artifact("race", "2.0.0", sha256(b))).isEmpty();
    }

    @Test
    void theConfiguredPrefixIsUsed() {
        var storage = storage(config(Map.of("prefix", "/registry/v1/")));
        byte[] jar = bytes("prefixed");

        storage.putArtifact("p", "1.0.0", sha256(jar), jar);

        assertThat(s3.blobs().blobExists(BUCKET, "registry/v1/p/1.0.0/" + sha256(jar) + ".jar")).isTrue();
    }

    @Test
    void aMissingObjectIsEmpty() {
        var storage = storage(config());

        assertThat(storage.artifact("never", "1.0.0", sha256(bytes("never stored")))).isEmpty();
    }

    @Test
    void bytesAreNeverStoredUnderADigestThatIsNotTheirs() {
        var storage = storage(config());
        byte[] jar = bytes("real bytes");
        String otherDigest = sha256(bytes("other bytes"));

        var e = catchThrowableOfType(RegistryException.class,
                () -> storage.putArtifact("liar", "1.0.0", otherDigest, jar));

        assertThat(e.reason()).isEqualTo(Reason.DIGEST_MISMATCH);
        assertThat(e).hasMessageContaining(sha256(jar)).hasMessageContaining(otherDigest);
        assertThat(storage.artifact("liar", "1.0.0", otherDigest)).isEmpty();
    }

    @Test
    void keyPartsThatCouldLeaveTheLayoutAreRefused() {
        var storage = storage(config());
        byte[] jar = bytes("x");
        String sha = sha256(jar);

        for (String[] bad : new String[][] { { "../etc", "1.0.0", sha }, { "a/b", "1.0.0", sha },
                { "ok", "1..0", sha }, { "ok", "1.0.0/x", sha }, { "ok", "1.0.0", sha.toUpperCase() },
                { "ok", "1.0.0", "abc" }, { null, "1.0.0", sha }, { "", "1.0.0", sha } }) {
            assertThatThrownBy(() -> storage.artifact(bad[0], bad[1], bad[2]))
                    .isInstanceOfSatisfying(RegistryException.class,
                            e -> assertThat(e.reason()).isEqualTo(Reason.INVALID_PLUGIN));
        }
        assertThat(s3.blobs().list(BUCKET)).isEmpty();
    }

    @Test
    void insertsAVersionOnceAndReadsEveryFieldBack() {
        var storage = storage(config());
        RegistryEntry entry = entry("hello", "1.0.0", "a".repeat(64));

        assertThat(storage.insert(entry)).isTrue();
        assertThat(storage.insert(entry("hello", "1.0.0", "b".repeat(64)))).isFalse();

        assertThat(storage.entry("hello", "1.0.0")).contains(entry);
        assertThat(storage.entries()).containsExactly(entry);
        assertThat(storage.entry("hello", "9.9.9")).isEmpty();
        assertThat(storage.entry("nobody", "1.0.0")).isEmpty();
    }

    @Test
    void optionalFieldsMayBeEmpty() {
        var storage = storage(config());
        var bare = new RegistryEntry("bare", "0.1.0", "com.example.bare", "tool", null, null, "acme",
                RegistryEntry.BETA, false, null, Map.of(), null, List.of(), "c".repeat(64), 1, "sig", PUBLISHED);

        assertThat(storage.insert(bare)).isTrue();

        assertThat(storage.entry("bare", "0.1.0")).contains(bare);
    }

    /** The OpenAI-compatible plugin imports five API packages: its range was refused by a 100-character column. */
    @Test
    void anApiRangeOverEveryApiPackageIsStored() {
        var storage = storage(config());
        var e = entry("openai", "0.1.0.SNAPSHOT", "f".repeat(64));
        String range = "chat [1.3.0,2.0.0), embedding [1.0.0,2.0.0), error [1.3.0,2.0.0), llm [1.2.0,2.0.0), plugin "
                + "[1.0.0,2.0.0), routing [1.0.0,2.0.0), store [1.2.0,2.0.0), telemetry [1.0.0,2.0.0), usage [1.0.0,2.0.0)";
        var wide = new RegistryEntry(e.id(), e.version(), e.symbolicName(), e.type(), e.displayName(), e.description(),
                e.publisher(), e.channel(), false, null, e.apiImports(), range, e.permissions(), e.sha256(), e.size(),
                e.signature(), e.publishedAt());

        assertThat(storage.insert(wide)).isTrue();

        assertThat(storage.entry("openai", "0.1.0.SNAPSHOT").orElseThrow().apiRange()).isEqualTo(range);
    }

    @Test
    void aShippedVersionKeepsItsOriginAndNeedsNoSignature() {
        var storage = storage(config());
        var signed = entry("a", "1.0.0", "1".repeat(64));
        var e = entry("ollama", "1.0.0", "d".repeat(64));
        var shipped = new RegistryEntry(e.id(), e.version(), e.symbolicName(), e.type(), e.displayName(), e.description(),
                "parley", e.channel(), false, null, e.apiImports(), e.apiRange(), e.permissions(), e.sha256(), e.size(),
                null, e.publishedAt(), RegistryEntry.DISTRIBUTION);

        assertThat(storage.insert(signed)).isTrue();
        assertThat(storage.insert(shipped)).isTrue();

        assertThat(storage.entry("ollama", "1.0.0")).contains(shipped);
        assertThat(storage.entry("a", "1.0.0").orElseThrow().origin()).isEqualTo(RegistryEntry.PUBLISHED);
        storage.update(shipped.withStatus(RegistryEntry.STABLE, true, "broken"));
        assertThat(storage.entry("ollama", "1.0.0").orElseThrow().origin()).isEqualTo(RegistryEntry.DISTRIBUTION);
        // A signed upload without its signature is still refused.
        var unsigned = new RegistryEntry("b", "1.0.0", "com.example.b", "tool", null, null, "acme", RegistryEntry.STABLE,
                false, null, Map.of(), null, List.of(), "e".repeat(64), 1, null, PUBLISHED);
        assertThatThrownBy(() -> storage.insert(unsigned)).hasMessageContaining("signature");
    }

    @Test
    void listsEveryVersionOfEveryPlugin() {
        var storage = storage(config());
        var a1 = entry("a", "1.0.0", "1".repeat(64));
        var a2 = withPublishedAt(entry("a", "2.0.0", "2".repeat(64)), PUBLISHED.plusSeconds(60));
        var b1 = entry("b", "1.0.0", "3".repeat(64));
        storage.insert(b1);
        storage.insert(a2);
        storage.insert(a1);

        assertThat(storage.entries()).containsExactly(a1, a2, b1);
    }

    @Test
    void concurrentInsertsOfOneVersionFromTwoProcessesHaveExactlyOneWinner() throws Exception {
        // Two storages with pools of their own: what two Parley nodes sharing the database look like.
        var first = storage(config(), db.newDatabase());
        var second = storage(config(), db.newDatabase());
        int versions = 25;
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < versions; i++) {
                String version = "1.0." + i;
                var go = new CountDownLatch(1);
                Future<Boolean> a = executor.submit(insertAfter(go, first, entry("raced", version, "a".repeat(64))));
                Future<Boolean> b = executor.submit(insertAfter(go, second, entry("raced", version, "b".repeat(64))));
                go.countDown();

                boolean aWon = a.get(30, TimeUnit.SECONDS);
                boolean bWon = b.get(30, TimeUnit.SECONDS);
                assertThat(aWon ^ bWon).as("exactly one insert of %s wins", version).isTrue();
                String winnerDigest = (aWon ? "a" : "b").repeat(64);
                assertThat(first.entry("raced", version)).hasValueSatisfying(
                        e -> assertThat(e.sha256()).isEqualTo(winnerDigest));
            }
        } finally {
            executor.shutdownNow();
        }
        assertThat(db.count("registry_entries")).isEqualTo(versions);
        // Both pools are still usable: the losers' transactions were rolled back, not left aborted.
        assertThat(first.entries()).hasSize(versions);
        assertThat(second.entries()).hasSize(versions);
    }

    @Test
    void updateChangesOnlyYankAndChannel() {
        var storage = storage(config());
        var original = entry("hello", "1.0.0", "a".repeat(64));
        storage.insert(original);

        var yanked = new RegistryEntry(original.id(), original.version(), "changed.bsn", original.type(),
                "Changed", "changed", original.publisher(), RegistryEntry.BETA, true, "CVE-2026-0001",
                Map.of(), "[9,10)", List.of(), "f".repeat(64), 1, "other-signature", Instant.EPOCH);
        storage.update(yanked);

        var expected = new RegistryEntry(original.id(), original.version(), original.symbolicName(), original.type(),
                original.displayName(), original.description(), original.publisher(), RegistryEntry.BETA, true,
                "CVE-2026-0001", original.apiImports(), original.apiRange(), original.permissions(),
                original.sha256(), original.size(), original.signature(), original.publishedAt());
        assertThat(storage.entry("hello", "1.0.0")).contains(expected);
    }

    @Test
    void updatingAnUnknownVersionIsNotFoundAndChangesNothing() {
        var storage = storage(config());
        storage.insert(entry("hello", "1.0.0", "a".repeat(64)));

        var e = catchThrowableOfType(RegistryException.class,
                () -> storage.update(entry("hello", "2.0.0", "a".repeat(64))));

        assertThat(e.reason()).isEqualTo(Reason.NOT_FOUND);
        assertThat(storage.entries()).extracting(RegistryEntry::version).containsExactly("1.0.0");
    }

    @Test
    void publishersAreAddedOnceAndListedById() {
        var storage = storage(config());
        var acme = new Publisher("acme", "MCowBQYDK2VwAyEAkey1", PUBLISHED);
        var beta = new Publisher("beta-corp", "MCowBQYDK2VwAyEAkey2", PUBLISHED.plusSeconds(5));

        assertThat(storage.insertPublisher(beta)).isTrue();
        assertThat(storage.insertPublisher(acme)).isTrue();
        assertThat(storage.insertPublisher(new Publisher("acme", "MCowBQYDK2VwAyEAswapped", Instant.now()))).isFalse();

        assertThat(storage.publishers()).containsExactly(acme, beta);
    }

    @Test
    void concurrentPublisherInsertsHaveOneWinner() throws Exception {
        var first = storage(config(), db.newDatabase());
        var second = storage(config(), db.newDatabase());
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            var go = new CountDownLatch(1);
            Future<Boolean> a = executor.submit(() -> {
                go.await();
                return first.insertPublisher(new Publisher("same", "key-a", PUBLISHED));
            });
            Future<Boolean> b = executor.submit(() -> {
                go.await();
                return second.insertPublisher(new Publisher("same", "key-b", PUBLISHED));
            });
            go.countDown();
            assertThat(a.get(30, TimeUnit.SECONDS) ^ b.get(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            executor.shutdownNow();
        }
        assertThat(first.publishers()).hasSize(1);
    }

    @Test
    void wrongCredentialsAreAClearStorageErrorThatNeverShowsTheSecret() {
        String wrongSecret = "wrong-secret-must-not-leak-42";
        var storage = storage(config(Map.of(".secretKey", wrongSecret)));
        byte[] jar = bytes("x");

        for (Runnable call : List.<Runnable>of(() -> storage.putArtifact("x", "1.0.0", sha256(jar), jar),
                () -> storage.artifact("x", "1.0.0", sha256(jar)), () -> storage.checkBucket())) {
            var e = catchThrowableOfType(RegistryException.class, call::run);
            assertThat(e.reason()).isEqualTo(Reason.STORAGE);
            assertThat(e).hasMessageContaining("access refused").hasMessageContaining(s3.endpoint().toString())
                    .hasMessageContaining(BUCKET).hasMessageContaining("secret key");
            assertThat(fullText(e)).doesNotContain(wrongSecret).doesNotContain(S3ProxyServer.SECRET_KEY);
        }
        assertThat(s3.blobs().list(BUCKET)).isEmpty();
    }

    @Test
    void anUnknownAccessKeyIsRefusedToo() {
        var storage = storage(config(Map.of("accessKey", "nobody")));

        var e = catchThrowableOfType(RegistryException.class, storage::checkBucket);

        assertThat(e.reason()).isEqualTo(Reason.STORAGE);
        assertThat(e).hasMessageContaining("access refused").hasMessageContaining(BUCKET);
    }

    @Test
    void aMissingBucketIsAClearStorageError() {
        var storage = storage(config(Map.of("bucket", "no-such-bucket")));
        byte[] jar = bytes("x");

        for (Runnable call : List.<Runnable>of(() -> storage.putArtifact("x", "1.0.0", sha256(jar), jar),
                () -> storage.artifact("x", "1.0.0", sha256(jar)), () -> storage.checkBucket())) {
            var e = catchThrowableOfType(RegistryException.class, call::run);
            assertThat(e.reason()).isEqualTo(Reason.STORAGE);
            assertThat(e).hasMessageContaining("bucket does not exist").hasMessageContaining("'no-such-bucket'")
                    .hasMessageContaining(s3.endpoint().toString());
        }
    }

    @Test
    void anUnreachableEndpointIsAClearStorageError() throws Exception {
        int closedPort;
        try (var socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String endpoint = "http://127.0.0.1:" + closedPort;
        var storage = storage(config(Map.of("endpoint", endpoint, "connectTimeoutMs", 500)));

        var e = catchThrowableOfType(RegistryException.class, storage::checkBucket);

        assertThat(e.reason()).isEqualTo(Reason.STORAGE);
        assertThat(e).hasMessageContaining("cannot reach").hasMessageContaining(endpoint).hasMessageContaining(BUCKET);
        assertThat(fullText(e)).doesNotContain(S3ProxyServer.SECRET_KEY);
    }

    @Test
    void aDatabaseFailureIsAStorageError() throws Exception {
        var storage = storage(config(), db.databaseWithoutTables());

        for (Runnable call : List.<Runnable>of(() -> storage.insert(entry("x", "1.0.0", "a".repeat(64))),
                storage::entries, () -> storage.entry("x", "1.0.0"), storage::publishers,
                () -> storage.insertPublisher(new Publisher("p", "k", PUBLISHED)))) {
            var e = catchThrowableOfType(RegistryException.class, call::run);
            assertThat(e.reason()).isEqualTo(Reason.STORAGE);
            assertThat(e).hasMessageContaining("Plugin registry database");
        }
    }

    @Test
    void incompleteConfigurationIsRefusedWithTheKeyToFix() {
        assertConfigRefused(Map.of("endpoint", ""), "'endpoint'");
        assertConfigRefused(Map.of("endpoint", "ftp://127.0.0.1:21"), "http:// or https://");
        assertConfigRefused(Map.of("endpoint", "http://user:" + S3ProxyServer.SECRET_KEY + "@127.0.0.1:9000"),
                "not in the endpoint URL");
        assertConfigRefused(Map.of("bucket", " "), "'bucket'");
        assertConfigRefused(Map.of("accessKey", ""), "'accessKey'");
        assertConfigRefused(Map.of(".secretKey", ""), "'.secretKey'");
    }

    @Test
    void aRecordOfTheCorrectBytesSurvivesTheStorageBeingRestarted() {
        var before = storage(config());
        byte[] jar = bytes("kept");
        before.putArtifact("kept", "1.0.0", sha256(jar), jar);
        before.insert(entry("kept", "1.0.0", sha256(jar)));
        before.deactivate();
        opened.remove(before);

        var after = storage(config(), db.newDatabase());

        assertThat(after.entry("kept", "1.0.0")).hasValueSatisfying(e -> assertThat(e.sha256()).isEqualTo(sha256(jar)));
        assertThat(after.artifact("kept", "1.0.0", sha256(jar))).hasValueSatisfying(b -> assertThat(b).isEqualTo(jar));
    }

    private void assertConfigRefused(Map<String, Object> overrides, String expected) {
        assertThatThrownBy(() -> storage(config(overrides))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(expected).satisfies(e -> assertThat(fullText(e))
                        .doesNotContain(S3ProxyServer.SECRET_KEY));
    }

    private static Callable<Boolean> insertAfter(CountDownLatch go, S3RegistryStorage storage, RegistryEntry entry) {
        return () -> {
            go.await();
            return storage.insert(entry);
        };
    }

    private S3RegistryStorage storage(Map<String, Object> config) {
        return storage(config, database);
    }

    private S3RegistryStorage storage(Map<String, Object> config, Database database) {
        var storage = new S3RegistryStorage(TestConfigs.s3(config), database);
        opened.add(storage);
        return storage;
    }

    private static Map<String, Object> config() {
        return config(Map.of());
    }

    private static Map<String, Object> config(Map<String, Object> overrides) {
        var values = new HashMap<String, Object>();
        values.put("endpoint", s3.endpoint().toString());
        values.put("bucket", BUCKET);
        values.put("accessKey", S3ProxyServer.ACCESS_KEY);
        values.put(".secretKey", S3ProxyServer.SECRET_KEY);
        values.putAll(overrides);
        // DS hands the ".secretKey" property to the method _secretKey().
        values.put("_secretKey", values.remove(".secretKey"));
        return values;
    }

    @Test
    void aPluginIdBelongsToTheFirstPublisherThatClaimsItOnEveryNode() throws Exception {
        var node1 = storage(config());
        var node2 = storage(config());

        assertThat(node1.owner("weather")).isEmpty();
        assertThat(node1.claimOwner("weather", "acme")).isEqualTo("acme");
        assertThat(node2.claimOwner("weather", "mallory")).isEqualTo("acme");
        assertThat(node2.owner("weather")).contains("acme");
        assertThat(db.count("registry_plugin_owners")).isEqualTo(1);
    }

    @Test
    void anIdPublishedBeforeOwnersWereRecordedIsClaimedForItsEarliestPublisherByTheMigration() throws Exception {
        // What V11 does to a database that already holds versions: the earliest version's publisher owns the id.
        var storage = storage(config());
        RegistryEntry first = entry("legacy", "1.0.0", sha256(bytes("a")));
        RegistryEntry later = new RegistryEntry("legacy", "2.0.0", "b", "provider", "d", "", "mallory", "stable", false,
                null, Map.of(), "", List.of(), sha256(bytes("b")), 1, "c2ln", PUBLISHED.plusSeconds(60));
        storage.insert(first);
        storage.insert(later);
        String v11;
        try (var in = RegistryMetadata.class.getClassLoader().getResourceAsStream(RegistryMetadata.MIGRATIONS
                + "V11__registry_plugin_owners.sql")) {
            v11 = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String backfill = v11.substring(v11.indexOf("INSERT INTO"), v11.lastIndexOf(';'));
        database.inTransaction("replay V11's backfill", c -> {
            try (var st = c.createStatement()) {
                st.execute("DELETE FROM registry_plugin_owners");
                return st.executeUpdate(backfill);
            }
        });

        assertThat(storage.owner("legacy")).contains("acme");
        assertThat(storage.claimOwner("legacy", "mallory")).isEqualTo("acme");
    }

    private static RegistryEntry entry(String id, String version, String sha256) {
        var imports = new LinkedHashMap<String, String>();
        imports.put("dev.parley.api.llm", "[1.0,2)");
        imports.put("dev.parley.api.chat", "[1.1,2)");
        return new RegistryEntry(id, version, "com.example." + id, "provider", "Hello \"quoted\" ünïcode",
                "Says hello", "acme", RegistryEntry.STABLE, false, null, imports, "[1.1,2)",
                List.of(new Permission("network", "api.example.com:443", ""),
                        new Permission("file", "cache", "read,write")),
                sha256, 12_345, "c2lnbmF0dXJl", PUBLISHED);
    }

    private static RegistryEntry withPublishedAt(RegistryEntry e, Instant at) {
        return new RegistryEntry(e.id(), e.version(), e.symbolicName(), e.type(), e.displayName(), e.description(),
                e.publisher(), e.channel(), e.yanked(), e.yankReason(), e.apiImports(), e.apiRange(), e.permissions(),
                e.sha256(), e.size(), e.signature(), at.truncatedTo(ChronoUnit.MICROS));
    }

    private static String fullText(Throwable t) {
        var text = new StringBuilder();
        for (Throwable x = t; x != null; x = x.getCause()) {
            text.append(x).append('\n');
            for (Throwable s : x.getSuppressed()) {
                text.append(s).append('\n');
            }
        }
        return text.toString();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.internal.PooledDatabase;
import dev.parley.plugins.internal.TenantProviderStore.Instance;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The tenants' provider instances in the real Database on embedded H2, with the real sealer. */
class TenantProviderStoreTest {
    private PooledDatabase database;
    private TenantProviderStore store;
    private final String key = TestSealers.newKey("k1");
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    @BeforeEach
    void setUp() {
        database = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 8, 5000);
        new PluginStateStore(database, TestSealers.sealer(key)); // migrates the table
        store = new TenantProviderStore(database, TestSealers.sealer(key));
    }

    @AfterEach
    void closeDatabase() {
        database.close();
    }

    private Instance instance(String tenant, String name, Map<String, Object> settings, long generation) {
        return new Instance(tenant, name, "openai", "dev.parley.provider.openai", settings, generation, now, now, "carol");
    }

    private String storedConfig(String tenant, String name) {
        return database.inTransaction("read", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT config FROM tenant_providers WHERE tenant_id = ? AND name = ?")) {
                ps.setString(1, tenant);
                ps.setString(2, name);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
        });
    }

    @Test
    void secretsAreSealedAtRestAndOpenedWhenRead() {
        store.put(instance("acme", "work", Map.of(".apiKey", "sk-acme-SECRET", "baseUrl", "https://api.openai.com/v1",
                "models", List.of("gpt-4o")), 1), 0, 5);

        assertThat(storedConfig("acme", "work")).doesNotContain("sk-acme-SECRET").contains("https://api.openai.com/v1");
        Instance read = store.get("acme", "work").orElseThrow();
        assertThat(read.settings()).containsEntry(".apiKey", "sk-acme-SECRET").containsEntry("models", List.of("gpt-4o"));
        assertThat(read.providerId()).isEqualTo("acme~work");
        assertThat(store.of("other")).isEmpty();
    }

    @Test
    void aSealedSecretCopiedIntoAnotherTenantsRowDoesNotOpenThere() {
        store.put(instance("acme", "work", Map.of(".apiKey", "sk-acme-SECRET"), 1), 0, 5);
        store.put(instance("evil", "work", Map.of(".apiKey", "sk-evil"), 1), 0, 5);
        String acmeRow = storedConfig("acme", "work");
        database.inTransaction("copy", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE tenant_providers SET config = ? WHERE tenant_id = 'evil'")) {
                ps.setString(1, acmeRow);
                return ps.executeUpdate();
            }
        });

        assertThat(store.get("evil", "work").orElseThrow().settings()).doesNotContainKey(".apiKey");
        assertThat(store.get("acme", "work").orElseThrow().settings()).containsEntry(".apiKey", "sk-acme-SECRET");
    }

    @Test
    void aTenantHasAtMostMaxInstancesAndNamesAreItsOwn() {
        store.put(instance("acme", "a", Map.of(), 1), 0, 2);
        store.put(instance("acme", "b", Map.of(), 1), 0, 2);
        store.put(instance("other", "a", Map.of(), 1), 0, 2);

        assertThatThrownBy(() -> store.put(instance("acme", "c", Map.of(), 1), 0, 2))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT))
                .hasMessageContaining("has 2 provider instances");
        assertThat(store.of("acme")).extracting(Instance::name).containsExactly("a", "b");
        assertThat(store.all()).hasSize(3);
    }

    @Test
    void aChangeBasedOnAnOldReadOrAConcurrentCreateIsAConflictAndChangesNothing() {
        store.put(instance("acme", "work", Map.of("baseUrl", "https://api.openai.com/v1"), 1), 0, 5);
        assertThatThrownBy(() -> store.put(instance("acme", "work", Map.of(), 1), 0, 5))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));

        store.put(instance("acme", "work", Map.of("baseUrl", "https://two"), 2), 1, 5);
        assertThatThrownBy(() -> store.put(instance("acme", "work", Map.of("baseUrl", "https://stale"), 2), 1, 5))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThat(store.get("acme", "work").orElseThrow().settings()).containsEntry("baseUrl", "https://two");

        assertThat(store.delete("acme", "work")).isTrue();
        assertThat(store.delete("acme", "work")).isFalse();
        assertThat(store.get("acme", "work")).isEmpty();
    }

    @Test
    void secretsSealedWithARotatedOutKeyAreSealedAgainWithTheCurrentOne() {
        store.put(instance("acme", "work", Map.of(".apiKey", "sk-ROTATE"), 1), 0, 5);
        String before = storedConfig("acme", "work");
        String next = TestSealers.newKey("k2");
        TenantProviderStore rotated = new TenantProviderStore(database, TestSealers.sealer(next, key));

        assertThat(rotated.reseal()).isEqualTo(1);
        assertThat(rotated.reseal()).isZero();
        assertThat(storedConfig("acme", "work")).isNotEqualTo(before).doesNotContain("sk-ROTATE");
        assertThat(new TenantProviderStore(database, TestSealers.sealer(next)).get("acme", "work").orElseThrow()
                .settings()).containsEntry(".apiKey", "sk-ROTATE");
    }
}

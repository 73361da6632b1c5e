package dev.parley.store.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ParleyException;
import dev.parley.api.store.NewMessage;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import dev.parley.db.Sql;
import dev.parley.db.internal.PooledDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Row-level security on PostgreSQL (ADR 24), the second line behind the tenant_id the store's statements name: inside
 * a tenant transaction even a statement that names no tenant reads and writes that tenant's rows only; outside one
 * (platform work) every row stays reachable. Runs as a role that owns the tables and is neither a superuser nor
 * BYPASSRLS, as Parley should connect: a superuser is exempt from row-level security whatever is forced.
 */
class PostgresRowLevelSecurityTest {
    private static final String ADMIN_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private final String role = "parley_rls_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    private PooledDatabase database;
    private JdbcConversationStore store;
    private JdbcUsageStore usage;
    private Conversation acme;
    private Conversation globex;

    @BeforeEach
    void setUp() throws SQLException {
        admin("CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS");
        admin("CREATE SCHEMA " + role + " AUTHORIZATION " + role);
        String base = ADMIN_URL.contains("?") ? ADMIN_URL.substring(0, ADMIN_URL.indexOf('?')) : ADMIN_URL;
        database = new PooledDatabase(base + "?user=" + role + "&currentSchema=" + role, "", "", 4, 5000);
        store = new JdbcConversationStore(TestConfigs.store(Map.of("url", "unused", "nodeId", "n1")), database,
                java.time.Clock.systemUTC());
        usage = new JdbcUsageStore(database);
        acme = store.tenant("acme").create(new NewConversation("acme's", null, null));
        globex = store.tenant("globex").create(new NewConversation("globex's", null, null));
        store.tenant("acme").appendAll(acme.id(), List.of(new NewMessage(Role.USER, "acme asks", MessageStatus.COMPLETE,
                null)));
        store.tenant("globex").appendAll(globex.id(), List.of(new NewMessage(Role.USER, "globex asks",
                MessageStatus.COMPLETE, null)));
        usage.recordAll(List.of(usageOf("u-acme", "acme"), usageOf("u-globex", "globex")));
    }

    @AfterEach
    void tearDown() throws SQLException {
        if (store != null) {
            store.deactivate();
        }
        if (database != null) {
            database.close();
        }
        admin("DROP SCHEMA IF EXISTS " + role + " CASCADE");
        admin("DROP ROLE IF EXISTS " + role);
    }

    private static void admin(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(ADMIN_URL); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static UsageRecord usageOf(String id, String tenant) {
        return new UsageRecord(id, Instant.parse("2026-12-05T10:00:00Z"), tenant, "someone", "completion", null, null,
                null, "openai", "gpt-4o", UsageOutcome.COMPLETED, null, List.of(), 10, 5, 0, null, 100L, 20L);
    }

    private static List<String> column(Connection c, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    @Test
    void anUnscopedSelectInsideATenantTransactionSeesThatTenantsRowsOnly() {
        database.inTenantTransaction("acme", "test", c -> {
            assertThat(column(c, "SELECT id FROM conversations")).containsExactly(acme.id());
            assertThat(column(c, "SELECT content FROM messages")).containsExactly("acme asks");
            assertThat(column(c, "SELECT id FROM usage_records")).containsExactly("u-acme");
            assertThat(column(c, "SELECT current_setting('parley.tenant')")).containsExactly("acme");
            return null;
        });
        database.inTenantTransaction("globex", "test", c -> {
            assertThat(column(c, "SELECT title FROM conversations")).containsExactly("globex's");
            assertThat(column(c, "SELECT content FROM messages")).containsExactly("globex asks");
            return null;
        });
    }

    @Test
    void platformWorkWithoutATenantStillSeesEveryRowAndTheSettingEndsWithItsTransaction() {
        // The same pooled connections ran tenant transactions before: the setting did not outlive them.
        for (int i = 0; i < 8; i++) {
            database.inTenantTransaction(i % 2 == 0 ? "acme" : "globex", "test", c -> column(c, "SELECT id FROM "
                    + "conversations"));
        }
        for (int i = 0; i < 8; i++) {
            database.inTransaction("test", c -> {
                assertThat(column(c, "SELECT id FROM conversations")).containsExactlyInAnyOrder(acme.id(),
                        globex.id());
                assertThat(column(c, "SELECT content FROM messages")).hasSize(2);
                return null;
            });
        }
        assertThat(usage.find(new UsageQuery(null, null, null, null, null, 0, 10, null)).total()).isEqualTo(2);
        // Crash recovery and the end of a turn are platform work too.
        assertThat(store.streaming()).isEmpty();
    }

    @Test
    void writingAnotherTenantsRowsInsideATenantTransactionIsRefused() {
        // INSERT of a row of another tenant: refused by the policy's check.
        assertThatThrownBy(() -> database.inTenantTransaction("acme", "insert", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO conversations (id, title, model, "
                    + "system_prompt, created_at, updated_at, tenant_id) VALUES ('conv_x', 'x', NULL, NULL, ?, ?, "
                    + "'globex')")) {
                ps.setObject(1, Sql.timestamp(Instant.now()));
                ps.setObject(2, Sql.timestamp(Instant.now()));
                return ps.executeUpdate();
            }
        })).isInstanceOfSatisfying(ParleyException.class, e -> assertThat(((SQLException) e.getCause())
                .getSQLState()).isEqualTo("42501"));
        // A message into another tenant's conversation: refused too.
        assertThatThrownBy(() -> database.inTenantTransaction("acme", "insert", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO messages (id, conversation_id, seq, role, "
                    + "content, status, created_at) VALUES ('msg_x', ?, 99, 'USER', 'sneaked in', 'COMPLETE', ?)")) {
                ps.setString(1, globex.id());
                ps.setObject(2, Sql.timestamp(Instant.now()));
                return ps.executeUpdate();
            }
        })).isInstanceOf(ParleyException.class);
        // UPDATE and DELETE of another tenant's rows find nothing to change.
        int changed = database.inTenantTransaction("acme", "update", c -> {
            try (Statement st = c.createStatement()) {
                return st.executeUpdate("UPDATE conversations SET title = 'taken'")
                        + st.executeUpdate("UPDATE messages SET content = 'taken'")
                        + st.executeUpdate("DELETE FROM usage_records WHERE tenant_id = 'globex'");
            }
        });
        assertThat(changed).isEqualTo(2); // acme's own conversation and message
        // Moving an own row into another tenant: refused by the check.
        assertThatThrownBy(() -> database.inTenantTransaction("acme", "move", c -> {
            try (Statement st = c.createStatement()) {
                return st.executeUpdate("UPDATE conversations SET tenant_id = 'globex'");
            }
        })).isInstanceOfSatisfying(ParleyException.class, e -> assertThat(((SQLException) e.getCause())
                .getSQLState()).isEqualTo("42501"));

        database.inTransaction("check", c -> {
            assertThat(column(c, "SELECT title FROM conversations ORDER BY title")).containsExactly("globex's",
                    "taken");
            assertThat(column(c, "SELECT content FROM messages ORDER BY content")).containsExactly("globex asks",
                    "taken");
            assertThat(column(c, "SELECT id FROM usage_records ORDER BY id")).containsExactly("u-acme", "u-globex");
            assertThat(column(c, "SELECT tenant_id FROM conversations ORDER BY tenant_id")).containsExactly("acme",
                    "globex");
            return null;
        });
    }

    @Test
    void theStoresTenantViewWorksUnderItsOwnPoliciesAndUsageByTenantToo() {
        var view = store.tenant("acme");
        assertThat(view.list(0, 10).items()).extracting(Conversation::id).containsExactly(acme.id());
        assertThat(view.find(globex.id())).isEmpty();
        assertThat(view.messages(acme.id())).hasSize(1);
        view.appendAll(acme.id(), List.of(new NewMessage(Role.ASSISTANT, "answer", MessageStatus.COMPLETE, null)));
        assertThat(view.delete(globex.id())).isFalse();
        assertThat(store.tenant("globex").find(globex.id())).isPresent();
        assertThat(usage.find(new UsageQuery(null, null, null, null, null, 0, 10, "acme")).items())
                .extracting(UsageRecord::id).containsExactly("u-acme");
    }

    @Test
    void aSuperuserIsExemptAndTheStoreSaysSo() throws SQLException {
        // What the warning at start-up is about: the same unscoped SELECT as a superuser sees everything.
        try (Connection c = DriverManager.getConnection(ADMIN_URL)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SELECT set_config('parley.tenant', 'acme', true)");
                try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + role + ".conversations")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(2);
                }
            }
            c.rollback();
        }
    }
}

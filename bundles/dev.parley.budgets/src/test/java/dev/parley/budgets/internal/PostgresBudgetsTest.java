package dev.parley.budgets.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.Sql;
import dev.parley.db.internal.PooledDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The contract on a real PostgreSQL server, each test in a schema of its own, owned by a role of its own that is
 * neither a superuser nor BYPASSRLS, as Parley should connect: the row-level security of ADR 24 is in force for every
 * test. Fails (never skips) when the server is not there: CI starts one.
 */
class PostgresBudgetsTest extends BudgetsContract {
    private static final String ADMIN_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private String role;

    @Override
    protected PooledDatabase open() throws SQLException {
        role = "parley_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
        execute("CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS");
        execute("CREATE SCHEMA " + role + " AUTHORIZATION " + role);
        String base = ADMIN_URL.contains("?") ? ADMIN_URL.substring(0, ADMIN_URL.indexOf('?')) : ADMIN_URL;
        return new PooledDatabase(base + "?user=" + role + "&currentSchema=" + role, "", "", 8, 5000);
    }

    @Override
    protected void afterDatabaseClosed() throws SQLException {
        execute("DROP SCHEMA IF EXISTS " + role + " CASCADE");
        execute("DROP ROLE IF EXISTS " + role);
    }

    private static void execute(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(ADMIN_URL); Statement st = c.createStatement()) {
            st.execute(sql);
        }
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
    void insideATenantTransactionTheBudgetTablesShowAndTakeThatTenantsRowsOnly() {
        DatabaseBudgets node = new DatabaseBudgets(new BudgetStore(database), TestSupport.config(0), java.time.Clock
                .systemUTC(), System::nanoTime);
        Principal acmeAdmin = user("carol", "acme", Role.ADMIN);
        Principal globexAdmin = user("dave", "globex", Role.ADMIN);
        node.put(acmeAdmin, new BudgetRules.Spec(null, Scope.TENANT, "", Period.DAY, 10L, null, null));
        node.put(globexAdmin, new BudgetRules.Spec(null, Scope.TENANT, "", Period.DAY, 10L, null, null));
        node.reserve(new Principal("a", "acme", Set.of(Role.MEMBER), AuthMethod.PASSWORD, "t", Set.of(), null, "s"),
                "m", 1);
        node.reserve(new Principal("g", "globex", Set.of(Role.MEMBER), AuthMethod.PASSWORD, "t", Set.of(), null, "s"),
                "m", 1);

        database.inTenantTransaction("acme", "test", c -> {
            assertThat(column(c, "SELECT tenant_id FROM budgets")).containsExactly("acme");
            assertThat(column(c, "SELECT tenant_id FROM budget_spend")).containsExactly("acme");
            assertThat(column(c, "SELECT COUNT(*) FROM budget_spend WHERE tenant_id = 'globex'")).containsExactly("0");
            return null;
        });
        assertThatThrownBy(() -> database.inTenantTransaction("acme", "insert", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO budget_spend (tenant_id, scope_kind, scope_id, "
                    + "budget_period, period_start, requests, tokens, cost_usd) VALUES ('globex', 'user', 'x', 'day', "
                    + "?, 0, 0, 0)")) {
                ps.setObject(1, Sql.timestamp(java.time.Instant.parse("2026-12-05T00:00:00Z")));
                return ps.executeUpdate();
            }
        })).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(((SQLException) e.getCause()).getSQLState()).isEqualTo("42501"));
        int zeroed = database.inTenantTransaction("acme", "update", c -> {
            try (Statement st = c.createStatement()) {
                return st.executeUpdate("UPDATE budget_spend SET requests = 0");
            }
        });
        assertThat(zeroed).isEqualTo(1);
        // Platform work (no tenant set) sees both tenants: globex's spend was not touched.
        database.inTransaction("check", c -> {
            assertThat(column(c, "SELECT tenant_id || ':' || requests FROM budget_spend ORDER BY tenant_id"))
                    .containsExactly("acme:0", "globex:1");
            return null;
        });
        node.deactivate();
    }
}

package dev.parley.identity.internal;

import static dev.parley.identity.internal.SignInTest.assertUnauthorized;
import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.internal.PooledDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The identity tables and flows on a real PostgreSQL server (PARLEY_TEST_PG_URL, default the local one), each test in
 * a schema of its own. Fails (never skips) when the server is not there: CI starts one.
 */
class PostgresIdentityTest {
    private static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    @TempDir
    Path dataDir;

    private final TestIdentity.MovableClock clock = new TestIdentity.MovableClock();
    private final SecretSealer sealer = TestIdentity.sealer();
    private final List<PooledDatabase> databases = new ArrayList<>();
    private String schema;

    @BeforeEach
    void createSchema() throws SQLException {
        schema = "parley_test_" + UUID.randomUUID().toString().replace("-", "");
        execute("CREATE SCHEMA " + schema);
    }

    @AfterEach
    void dropSchema() throws SQLException {
        databases.forEach(PooledDatabase::close);
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }

    private PooledDatabase open() {
        PooledDatabase db = new PooledDatabase(BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema="
                + schema, "", "", 4, 5000);
        databases.add(db);
        return db;
    }

    @Test
    void nodesStartingTogetherMigrateOnceAndMakeOneAdmin() throws Exception {
        int nodes = 3;
        List<Path> dirs = new ArrayList<>();
        List<PooledDatabase> dbs = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            dirs.add(Files.createDirectories(dataDir.resolve("node" + i)));
            dbs.add(open());
        }
        List<BuiltInIdentity> started = BootstrapTest.startTogether(nodes, i -> () -> TestIdentity.node(
                BootstrapTest.withPassword(""), dbs.get(i), sealer, clock, dirs.get(i), new TestIdentity.Recorder()));
        assertThat(dirs.stream().filter(d -> Files.exists(d.resolve(Bootstrap.PASSWORD_FILE))).count()).isEqualTo(1);
        Path file = dirs.stream().map(d -> d.resolve(Bootstrap.PASSWORD_FILE)).filter(Files::exists).findFirst()
                .orElseThrow();
        String password = Files.readString(file).strip();
        // Every node signs in the one admin, and verifies the others' tokens.
        SignIn.Tokens t = started.get(0).signIn().login(null, "admin", password, "");
        for (BuiltInIdentity n : started) {
            assertThat(n.authenticate(t.accessToken()).tenantId()).isEqualTo("default");
        }
        int admins = dbs.get(0).inTransaction("count", c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT COUNT(*) FROM identity_users")) {
                rs.next();
                return rs.getInt(1);
            }
        });
        assertThat(admins).isEqualTo(1);
    }

    @Test
    void refreshReuseLockOutAndAdministrationWorkOnPostgres() {
        PooledDatabase db = open();
        BuiltInIdentity node = TestIdentity.node(TestIdentity.settings(3), db, sealer, clock, dataDir,
                new TestIdentity.Recorder());
        SignIn.Tokens first = node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "");
        SignIn.Tokens second = node.signIn().refresh(first.refreshToken(), "");
        assertUnauthorized(() -> node.signIn().refresh(first.refreshToken(), ""), SignIn.BAD_REFRESH);
        assertUnauthorized(() -> node.authenticate(second.accessToken()), SignIn.SESSION_REVOKED);

        var operator = node.authenticate(node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "")
                .accessToken());
        node.users().createTenant(operator, "acme", "Acme", "");
        node.users().createUser(operator, "acme", "olga", "a good long password", List.of("owner"), "");
        for (int i = 0; i < 3; i++) {
            assertUnauthorized(() -> node.signIn().login("acme", "olga", "nope nope nope", ""),
                    SignIn.WRONG_CREDENTIALS);
        }
        assertUnauthorized(() -> node.signIn().login("acme", "olga", "a good long password", ""),
                SignIn.WRONG_CREDENTIALS);
        var olga = node.users().users(operator, "acme", null, 10).get(0);
        node.users().unlock(operator, "acme", olga.id(), "");
        assertThat(node.authenticate(node.signIn().login("acme", "olga", "a good long password", "")
                .accessToken()).tenantId()).isEqualTo("acme");
        // Revocations read back from PostgreSQL on a refresh.
        node.refresh();
        assertUnauthorized(() -> node.authenticate(second.accessToken()), SignIn.SESSION_REVOKED);
    }

    private void execute(String sql) throws SQLException {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(BASE_URL);
        try (var c = ds.getConnection(); var st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

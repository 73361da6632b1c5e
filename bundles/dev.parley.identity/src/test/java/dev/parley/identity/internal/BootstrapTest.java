package dev.parley.identity.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.internal.PooledDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The first start: one admin, its password from the setting or generated into an owner-only file. */
class BootstrapTest {
    @TempDir
    Path dataDir;

    private final TestIdentity.MovableClock clock = new TestIdentity.MovableClock();
    private final SecretSealer sealer = TestIdentity.sealer();
    private PooledDatabase db;

    @BeforeEach
    void start() {
        db = TestIdentity.h2();
    }

    @AfterEach
    void stop() {
        db.close();
    }

    static IdentitySettings withPassword(String password) {
        IdentitySettings s = TestIdentity.settings(5);
        return new IdentitySettings(s.issuer(), s.accessTokenLifetime(), s.refreshTokenLifetime(),
                s.lockoutThreshold(), s.lockoutDuration(), s.passwordMinLength(), s.argon2(), s.maxConcurrentHashes(),
                s.clockSkew(), s.revocationRefresh(), s.signingKeyRotation(), password);
    }

    @Test
    void withoutASettingThePasswordIsGeneratedIntoAnOwnerOnlyFileOnce() throws Exception {
        BuiltInIdentity node = TestIdentity.node(withPassword(""), db, sealer, clock, dataDir,
                new TestIdentity.Recorder());
        Path file = dataDir.resolve(Bootstrap.PASSWORD_FILE);
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        String password = Files.readString(file).strip();
        assertThat(password).hasSize(24);
        assertThat(node.signIn().login(null, "admin", password, "").accessToken()).isNotBlank();

        // A restart (or another node) finds the admin and leaves the file alone.
        Files.writeString(file, "changed by the operator\n");
        TestIdentity.node(withPassword(""), db, sealer, clock, dataDir, new TestIdentity.Recorder());
        assertThat(Files.readString(file)).isEqualTo("changed by the operator\n");
        assertThat(adminCount()).isEqualTo(1);
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void aConfiguredPasswordIsUsedAndNoFileIsWritten() {
        BuiltInIdentity node = TestIdentity.node(withPassword("operator chose this one"), db, sealer, clock, dataDir,
                new TestIdentity.Recorder());
        assertThat(node.signIn().login(null, "admin", "operator chose this one", "").accessToken()).isNotBlank();
        assertThat(dataDir.resolve(Bootstrap.PASSWORD_FILE)).doesNotExist();
    }

    @Test
    void aConfiguredPasswordUnderTheMinimumStopsTheStartWithoutShowingIt() {
        assertThatThrownBy(() -> TestIdentity.node(withPassword("tooshort"), db, sealer, clock, dataDir,
                new TestIdentity.Recorder())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PARLEY_BOOTSTRAP_ADMIN_PASSWORD").hasMessageNotContaining("tooshort");
        assertThat(adminCount()).isZero();
    }

    @Test
    void nodesStartingTogetherMakeOneAdminAndOnePasswordFile() throws Exception {
        int nodes = 4;
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            dirs.add(Files.createDirectories(dataDir.resolve("node" + i)));
        }
        assertThat(startTogether(nodes, i -> () -> TestIdentity.node(withPassword(""), db, sealer, clock,
                dirs.get(i), new TestIdentity.Recorder()))).hasSize(nodes);
        assertThat(adminCount()).isEqualTo(1);
        long files = dirs.stream().filter(d -> Files.exists(d.resolve(Bootstrap.PASSWORD_FILE))).count();
        assertThat(files).isEqualTo(1);
        assertThat(leftovers()).isEmpty();
    }

    /** Builds {@code n} nodes at the same moment; returns them once all are up. */
    static <T> List<T> startTogether(int n, java.util.function.IntFunction<Callable<T>> make) throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Callable<T> task = make.apply(i);
                futures.add(executor.submit(() -> {
                    go.await();
                    return task.call();
                }));
            }
            go.countDown();
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(60, java.util.concurrent.TimeUnit.SECONDS));
            }
            return out;
        } finally {
            executor.shutdownNow();
        }
    }

    private int adminCount() {
        return db.inTransaction("count", c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery(
                    "SELECT COUNT(*) FROM identity_users WHERE tenant_id = 'default'")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    private List<Path> leftovers() throws Exception {
        try (Stream<Path> s = Files.walk(dataDir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }
}

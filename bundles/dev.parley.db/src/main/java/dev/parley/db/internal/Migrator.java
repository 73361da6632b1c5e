package dev.parley.db.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.Sql;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a module's versioned SQL files that the database has not seen yet, and records each in
 * {@code parley_schema_history} under (module, version). Flyway was considered: its database support is found through
 * {@code ServiceLoader} plugins, which do not see each other across OSGi bundles, so this small migrator does the part
 * Parley needs instead (ADR 5).
 *
 * <p>Everything runs in one transaction that the caller commits. On PostgreSQL that makes a migration atomic and, with
 * the advisory lock of {@link Dialect#lockForMigration}, safe when several nodes start at once. H2 commits DDL
 * implicitly, so a failed H2 migration can leave part of a file applied; the embedded database is for one process on
 * one machine, where that is acceptable.
 *
 * <p>Databases migrated before each bundle kept its own migrations have every version in {@code parley_schema_version}
 * (one sequence, V1 to V11, all applied by the store bundle). Those rows are copied into the history under the module
 * that owns each version now ({@link #LEGACY_MODULES}), in the migration transaction, so nothing runs again; the old
 * table is left as it is.
 *
 * <p>Files must never change after release: an applied file whose checksum differs stops the migration. Statements
 * are separated by {@code ;} at the end of a line; lines starting with {@code --} are comments.
 */
final class Migrator {
    static final String HISTORY_TABLE = "parley_schema_history";
    static final String LEGACY_TABLE = "parley_schema_version";
    static final String STORE = "dev.parley.store.jdbc";
    static final String PLUGINS = "dev.parley.plugins";
    static final String REGISTRY_S3 = "dev.parley.registry.s3";
    /** The owner now of each version the one migrator of the store bundle applied (fixed: that sequence has ended). */
    static final Map<Integer, String> LEGACY_MODULES = Map.ofEntries(Map.entry(1, STORE), Map.entry(2, STORE),
            Map.entry(3, PLUGINS), Map.entry(4, REGISTRY_S3), Map.entry(5, STORE), Map.entry(6, STORE),
            Map.entry(7, STORE), Map.entry(8, REGISTRY_S3), Map.entry(9, PLUGINS), Map.entry(10, REGISTRY_S3),
            Map.entry(11, STORE));

    private static final Logger LOG = LoggerFactory.getLogger(Migrator.class);
    private static final Pattern FILE_NAME = Pattern.compile("V(\\d+)__(\\w+)\\.sql");
    private static final Pattern STATEMENT_END = Pattern.compile(";\\s*(?:\\R|$)");

    record Migration(int version, String description, String script, String checksum) {
        List<String> statements() {
            var withoutComments = new StringBuilder();
            script.lines().filter(line -> !line.strip().startsWith("--"))
                    .forEach(line -> withoutComments.append(line).append('\n'));
            return Arrays.stream(STATEMENT_END.split(withoutComments)).map(String::strip).filter(s -> !s.isEmpty())
                    .toList();
        }
    }

    private final Dialect dialect;
    private final Clock clock;

    Migrator(Dialect dialect, Clock clock) {
        this.dialect = dialect;
        this.clock = clock;
    }

    /** Reads {@code files} from {@code loader} under {@code location}; versions must increase. */
    static List<Migration> load(ClassLoader loader, String location, List<String> files) {
        String folder = location.endsWith("/") ? location : location + "/";
        var result = new ArrayList<Migration>();
        for (String file : files) {
            var m = FILE_NAME.matcher(file);
            if (!m.matches()) {
                throw new IllegalArgumentException("Migration file name must look like V1__name.sql: " + file);
            }
            int version = Integer.parseInt(m.group(1));
            if (!result.isEmpty() && result.get(result.size() - 1).version() >= version) {
                throw new IllegalArgumentException("Migration versions must increase: " + file);
            }
            try (InputStream in = loader.getResourceAsStream(folder + file)) {
                if (in == null) {
                    throw new IllegalArgumentException("Migration file missing from the bundle: " + folder + file);
                }
                // Line endings are normalised so a checkout with CRLF does not look like a changed file.
                String script = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n");
                result.add(new Migration(version, m.group(2), script, sha256(script)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return result;
    }

    /** @return how many of {@code migrations} were applied now */
    int migrate(Connection connection, String module, List<Migration> migrations) throws SQLException {
        dialect.lockForMigration(connection);
        try (Statement st = connection.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS " + HISTORY_TABLE + " (module VARCHAR(200) NOT NULL, "
                    + "version INTEGER NOT NULL, description VARCHAR(200) NOT NULL, checksum VARCHAR(64) NOT NULL, "
                    + "applied_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (module, version))");
        }
        adoptLegacyHistory(connection);
        Map<Integer, String> applied = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT version, checksum FROM " + HISTORY_TABLE + " WHERE module = ?")) {
            ps.setString(1, module);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    applied.put(rs.getInt(1), rs.getString(2));
                }
            }
        }
        int count = 0;
        for (Migration migration : migrations) {
            String checksum = applied.remove(migration.version());
            if (checksum != null) {
                if (!checksum.equals(migration.checksum())) {
                    throw new ParleyException(ErrorCode.STORE_FAILURE, "Schema migration " + module + " V"
                            + migration.version() + " (" + migration.description() + ") differs from the one applied "
                            + "to this database; restore the original file and add changes as a new version");
                }
                continue;
            }
            apply(connection, module, migration);
            count++;
        }
        if (!applied.isEmpty()) {
            // A newer bundle migrated this database (e.g. during a rolling upgrade). Migrations are additive,
            // so this version keeps working, but an operator should know.
            LOG.warn("Database schema is newer than this bundle module={} unknownVersions={}", module,
                    new TreeSet<>(applied.keySet()));
        }
        return count;
    }

    /**
     * Copies the rows of {@code parley_schema_version} that the history lacks into it, under their module now. Only a
     * database migrated by the one store migrator has that table; its rows are never changed or deleted.
     */
    private void adoptLegacyHistory(Connection connection) throws SQLException {
        if (!tableExists(connection, LEGACY_TABLE)) {
            return;
        }
        Set<String> recorded = new HashSet<>();
        try (Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery("SELECT module, version FROM " + HISTORY_TABLE)) {
            while (rs.next()) {
                recorded.add(rs.getString(1) + "@" + rs.getInt(2));
            }
        }
        int adopted = 0;
        var unknown = new TreeSet<Integer>();
        try (Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery(
                        "SELECT version, description, checksum, applied_at FROM " + LEGACY_TABLE + " ORDER BY version");
                PreparedStatement insert = connection.prepareStatement("INSERT INTO " + HISTORY_TABLE
                        + " (module, version, description, checksum, applied_at) VALUES (?, ?, ?, ?, ?)")) {
            while (rs.next()) {
                int version = rs.getInt(1);
                String module = LEGACY_MODULES.get(version);
                if (module == null) {
                    unknown.add(version);
                    continue;
                }
                if (recorded.contains(module + "@" + version)) {
                    continue;
                }
                insert.setString(1, module);
                insert.setInt(2, version);
                insert.setString(3, rs.getString(2));
                insert.setString(4, rs.getString(3));
                insert.setObject(5, Sql.timestamp(Sql.instant(rs, 4)));
                insert.executeUpdate();
                adopted++;
            }
        }
        if (adopted > 0) {
            LOG.info("Adopted schema history from {} rows={} dialect={}", LEGACY_TABLE, adopted, dialect.label());
        }
        if (!unknown.isEmpty()) {
            LOG.warn("Schema versions in {} that no module owns were not adopted versions={}", LEGACY_TABLE, unknown);
        }
    }

    private static boolean tableExists(Connection connection, String table) throws SQLException {
        // Unquoted names are stored upper case by H2 and lower case by PostgreSQL.
        try (PreparedStatement ps = connection.prepareStatement("SELECT COUNT(*) FROM information_schema.tables "
                + "WHERE LOWER(table_name) = ? AND table_schema = CURRENT_SCHEMA")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1) > 0;
            }
        }
    }

    private void apply(Connection connection, String module, Migration migration) throws SQLException {
        try (Statement st = connection.createStatement()) {
            for (String sql : migration.statements()) {
                st.execute(sql);
            }
        }
        try (PreparedStatement ps = connection.prepareStatement("INSERT INTO " + HISTORY_TABLE
                + " (module, version, description, checksum, applied_at) VALUES (?, ?, ?, ?, ?)")) {
            ps.setString(1, module);
            ps.setInt(2, migration.version());
            ps.setString(3, migration.description());
            ps.setString(4, migration.checksum());
            ps.setObject(5, Sql.timestamp(Instant.now(clock)));
            ps.executeUpdate();
        }
        LOG.info("Applied schema migration module={} version={} description={} dialect={}", module,
                migration.version(), migration.description(), dialect.label());
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}

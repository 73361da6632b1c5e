package dev.parley.store.jdbc.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
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
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the versioned SQL files under {@code db/migration/} that the database has not seen yet, and records
 * each in {@code parley_schema_version}. Flyway was considered: its database support is found through
 * {@code ServiceLoader} plugins, which do not see each other across OSGi bundles, so this small migrator does
 * the part Parley needs instead.
 *
 * <p>Everything runs in one transaction that the caller commits. On PostgreSQL that makes a migration atomic
 * and, with the advisory lock of {@link Dialect#lockForMigration}, safe when several nodes start at once. H2
 * commits DDL implicitly, so a failed H2 migration can leave part of a file applied; the embedded database is
 * for one process on one machine, where that is acceptable.
 *
 * <p>Files must never change after release: an applied file whose checksum differs stops the store from
 * starting. Statements are separated by {@code ;} at the end of a line; lines starting with {@code --} are
 * comments.
 */
final class Migrator {
    /** The migrations this bundle carries, oldest first. Add new files here too. */
    static final List<String> BUNDLED = List.of("V1__conversations.sql", "V2__messages.sql", "V3__plugin_state.sql",
            "V4__plugin_registry.sql", "V5__message_node.sql", "V6__router_state.sql",
            "V7__usage_records.sql", "V8__registry_origin.sql", "V9__plugin_uninstalled.sql",
            "V10__registry_api_range.sql", "V11__usage_single_attempt.sql");

    static final String LOCATION = "db/migration/";

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
    private final List<Migration> migrations;
    private final Clock clock;

    Migrator(Dialect dialect, List<Migration> migrations, Clock clock) {
        this.dialect = dialect;
        this.migrations = List.copyOf(migrations);
        this.clock = clock;
    }

    /** Reads {@code files} from {@code loader} under {@link #LOCATION}; versions must increase. */
    static List<Migration> load(ClassLoader loader, List<String> files) {
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
            try (InputStream in = loader.getResourceAsStream(LOCATION + file)) {
                if (in == null) {
                    throw new IllegalArgumentException("Migration file missing from the bundle: " + file);
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

    /** @return how many migrations were applied now */
    int migrate(Connection connection) throws SQLException {
        dialect.lockForMigration(connection);
        try (Statement st = connection.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS parley_schema_version ("
                    + "version INTEGER PRIMARY KEY, description VARCHAR(200) NOT NULL, "
                    + "checksum VARCHAR(64) NOT NULL, applied_at TIMESTAMP WITH TIME ZONE NOT NULL)");
        }
        Map<Integer, String> applied = new HashMap<>();
        try (Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery("SELECT version, checksum FROM parley_schema_version")) {
            while (rs.next()) {
                applied.put(rs.getInt(1), rs.getString(2));
            }
        }
        int count = 0;
        for (Migration migration : migrations) {
            String checksum = applied.remove(migration.version());
            if (checksum != null) {
                if (!checksum.equals(migration.checksum())) {
                    throw new ParleyException(ErrorCode.STORE_FAILURE, "Schema migration V" + migration.version()
                            + " (" + migration.description() + ") differs from the one applied to this database; "
                            + "restore the original file and add changes as a new version");
                }
                continue;
            }
            apply(connection, migration);
            count++;
        }
        if (!applied.isEmpty()) {
            // A newer bundle migrated this database (e.g. during a rolling upgrade). Migrations are additive,
            // so this version keeps working, but an operator should know.
            LOG.warn("Database schema is newer than this bundle unknownVersions={}", applied.keySet());
        }
        return count;
    }

    private void apply(Connection connection, Migration migration) throws SQLException {
        try (Statement st = connection.createStatement()) {
            for (String sql : migration.statements()) {
                st.execute(sql);
            }
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO parley_schema_version (version, description, checksum, applied_at) VALUES (?, ?, ?, ?)")) {
            ps.setInt(1, migration.version());
            ps.setString(2, migration.description());
            ps.setString(3, migration.checksum());
            ps.setObject(4, OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC));
            ps.executeUpdate();
        }
        LOG.info("Applied schema migration version={} description={} dialect={}", migration.version(),
                migration.description(), dialect.label());
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

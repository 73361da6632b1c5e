package dev.parley.registry.s3.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import dev.parley.db.SqlWork;
import dev.parley.registry.Permission;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Registry metadata in the tables {@code registry_entries} and {@code registry_publishers} of Parley's
 * {@link Database}, which this bundle's migrations create (V4; V8 adds each version's origin and lets shipped versions
 * go without a signature; V10 widens the API range; V11 records each plugin id's owner, {@code registry_plugin_owners})
 * when the metadata is made. Every operation is one transaction.
 *
 * <p>Two processes publishing the same version at once are separated by the primary key, not by a check before
 * the insert: the loser's insert fails with a unique violation and reports {@code false}.
 */
final class RegistryMetadata {
    /** The module this bundle's migrations are recorded under: its symbolic name. */
    static final String MODULE = "dev.parley.registry.s3";
    static final String MIGRATIONS = "db/migration/" + MODULE + "/";
    /** Oldest first; add new files here too. The versions were numbered when the store bundle migrated every table. */
    static final List<String> MIGRATION_FILES = List.of("V4__plugin_registry.sql", "V8__registry_origin.sql",
            "V10__registry_api_range.sql", "V11__registry_plugin_owners.sql");
    private static final String ENTRY_COLUMNS = "plugin_id, version, symbolic_name, plugin_type, display_name, "
            + "description, publisher, channel, yanked, yank_reason, api_imports, api_range, permissions, sha256, "
            + "size_bytes, signature, published_at, origin";

    private final Database database;
    private final ObjectMapper json = new ObjectMapper();

    /** @throws RegistryException STORAGE when the tables cannot be migrated */
    RegistryMetadata(Database database) {
        this.database = database;
        try {
            database.migrate(MODULE, RegistryMetadata.class.getClassLoader(), MIGRATIONS, MIGRATION_FILES);
        } catch (ParleyException e) {
            throw new RegistryException(Reason.STORAGE, "Plugin registry database: " + e.getMessage(), e);
        }
    }

    boolean insert(RegistryEntry e) {
        requireFields(e);
        return inTransaction("record " + e.id() + " " + e.version(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO registry_entries (" + ENTRY_COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, e.id());
                ps.setString(2, e.version());
                ps.setString(3, e.symbolicName());
                ps.setString(4, e.type());
                ps.setString(5, e.displayName());
                ps.setString(6, e.description());
                ps.setString(7, e.publisher());
                ps.setString(8, e.channel());
                ps.setBoolean(9, e.yanked());
                ps.setString(10, e.yankReason());
                ps.setString(11, writeImports(e.apiImports()));
                ps.setString(12, e.apiRange());
                ps.setString(13, writePermissions(e.permissions()));
                ps.setString(14, e.sha256());
                ps.setLong(15, e.size());
                ps.setString(16, e.signature());
                ps.setObject(17, Sql.timestamp(e.publishedAt()));
                ps.setString(18, e.origin());
                ps.executeUpdate();
                return true;
            } catch (SQLException ex) {
                if (Sql.isUniqueViolation(ex)) {
                    // PostgreSQL refuses every further statement in an aborted transaction: end it here.
                    c.rollback();
                    return false;
                }
                throw ex;
            }
        });
    }

    void update(RegistryEntry e) {
        if (e == null || e.id() == null || e.version() == null || e.channel() == null) {
            throw new IllegalArgumentException("A registry entry update needs id, version and channel");
        }
        int updated = inTransaction("update " + e.id() + " " + e.version(), c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE registry_entries SET yanked = ?, yank_reason = ?, "
                    + "channel = ? WHERE plugin_id = ? AND version = ?")) {
                ps.setBoolean(1, e.yanked());
                ps.setString(2, e.yankReason());
                ps.setString(3, e.channel());
                ps.setString(4, e.id());
                ps.setString(5, e.version());
                return ps.executeUpdate();
            }
        });
        if (updated == 0) {
            throw new RegistryException(Reason.NOT_FOUND, "No plugin " + e.id() + " version " + e.version());
        }
    }

    List<RegistryEntry> entries() {
        return inTransaction("list plugin versions", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + ENTRY_COLUMNS
                    + " FROM registry_entries ORDER BY plugin_id, published_at, version");
                    ResultSet rs = ps.executeQuery()) {
                var result = new ArrayList<RegistryEntry>();
                while (rs.next()) {
                    result.add(entry(rs));
                }
                return result;
            }
        });
    }

    Optional<RegistryEntry> entry(String pluginId, String version) {
        if (pluginId == null || version == null) {
            return Optional.empty();
        }
        return inTransaction("read " + pluginId + " " + version, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + ENTRY_COLUMNS
                    + " FROM registry_entries WHERE plugin_id = ? AND version = ?")) {
                ps.setString(1, pluginId);
                ps.setString(2, version);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(entry(rs)) : Optional.<RegistryEntry>empty();
                }
            }
        });
    }

    /** The owner of {@code pluginId}, claimed for {@code publisher} if nobody owns it yet (the primary key decides). */
    String claimOwner(String pluginId, String publisher) {
        Optional<String> known = owner(pluginId);
        if (known.isPresent()) {
            return known.get();
        }
        inTransaction("record the owner of " + pluginId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO registry_plugin_owners (plugin_id, publisher, claimed_at) VALUES (?, ?, ?)")) {
                ps.setString(1, pluginId);
                ps.setString(2, publisher);
                ps.setObject(3, Sql.timestamp(java.time.Instant.now()));
                ps.executeUpdate();
                return true;
            } catch (SQLException ex) {
                if (Sql.isUniqueViolation(ex)) {
                    c.rollback(); // another upload claimed it first: its owner is read below
                    return false;
                }
                throw ex;
            }
        });
        return owner(pluginId).orElseThrow(() -> new RegistryException(Reason.STORAGE,
                "the owner of " + pluginId + " was neither recorded nor found"));
    }

    Optional<String> owner(String pluginId) {
        return inTransaction("read the owner of " + pluginId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT publisher FROM registry_plugin_owners WHERE plugin_id = ?")) {
                ps.setString(1, pluginId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
                }
            }
        });
    }

    boolean insertPublisher(Publisher p) {
        if (p == null || p.id() == null || p.publicKey() == null || p.addedAt() == null) {
            throw new IllegalArgumentException("A publisher needs id, public key and the time it was added");
        }
        return inTransaction("record publisher " + p.id(), c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO registry_publishers (publisher_id, public_key, added_at) VALUES (?, ?, ?)")) {
                ps.setString(1, p.id());
                ps.setString(2, p.publicKey());
                ps.setObject(3, Sql.timestamp(p.addedAt()));
                ps.executeUpdate();
                return true;
            } catch (SQLException ex) {
                if (Sql.isUniqueViolation(ex)) {
                    c.rollback();
                    return false;
                }
                throw ex;
            }
        });
    }

    List<Publisher> publishers() {
        return inTransaction("list publishers", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT publisher_id, public_key, added_at FROM registry_publishers ORDER BY publisher_id");
                    ResultSet rs = ps.executeQuery()) {
                var result = new ArrayList<Publisher>();
                while (rs.next()) {
                    result.add(new Publisher(rs.getString(1), rs.getString(2), Sql.instant(rs, 3)));
                }
                return result;
            }
        });
    }

    /** {@link Database#inTransaction}, its failures reported in the registry's own terms. */
    private <T> T inTransaction(String action, SqlWork<T> work) {
        try {
            return database.inTransaction(action, work);
        } catch (ParleyException e) {
            if (!(e.getCause() instanceof SQLException sql)) {
                throw e;
            }
            // No connection details in the message: the cause goes to the log of whoever reports this.
            throw new RegistryException(Reason.STORAGE, "Plugin registry database: cannot " + action
                    + " (SQLSTATE " + sql.getSQLState() + ")", sql);
        }
    }

    private RegistryEntry entry(ResultSet rs) throws SQLException {
        return new RegistryEntry(rs.getString("plugin_id"), rs.getString("version"), rs.getString("symbolic_name"),
                rs.getString("plugin_type"), rs.getString("display_name"), rs.getString("description"),
                rs.getString("publisher"), rs.getString("channel"), rs.getBoolean("yanked"),
                rs.getString("yank_reason"), readImports(rs.getString("api_imports")), rs.getString("api_range"),
                readPermissions(rs.getString("permissions")), rs.getString("sha256"), rs.getLong("size_bytes"),
                rs.getString("signature"), Sql.instant(rs, "published_at"), rs.getString("origin"));
    }

    private static void requireFields(RegistryEntry e) {
        if (e == null) {
            throw new IllegalArgumentException("No registry entry");
        }
        var missing = new ArrayList<String>();
        if (e.id() == null) missing.add("id");
        if (e.version() == null) missing.add("version");
        if (e.symbolicName() == null) missing.add("symbolicName");
        if (e.type() == null) missing.add("type");
        if (e.publisher() == null) missing.add("publisher");
        if (e.channel() == null) missing.add("channel");
        if (e.sha256() == null) missing.add("sha256");
        // Only a version the server ships comes without a signature (ADR 11).
        if (e.signature() == null && !e.shipped()) missing.add("signature");
        if (e.publishedAt() == null) missing.add("publishedAt");
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("A registry entry needs " + String.join(", ", missing));
        }
    }

    private String writeImports(Map<String, String> imports) {
        ObjectNode node = json.createObjectNode();
        if (imports != null) {
            imports.forEach(node::put);
        }
        return node.toString();
    }

    private String writePermissions(List<Permission> permissions) {
        ArrayNode node = json.createArrayNode();
        if (permissions != null) {
            for (Permission p : permissions) {
                node.addObject().put("kind", p.kind()).put("target", p.target()).put("actions", p.actions());
            }
        }
        return node.toString();
    }

    private Map<String, String> readImports(String text) throws SQLException {
        JsonNode node = parse(text, "api_imports");
        var result = new LinkedHashMap<String, String>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
            var field = it.next();
            result.put(field.getKey(), field.getValue().isNull() ? null : field.getValue().asText());
        }
        return result;
    }

    private List<Permission> readPermissions(String text) throws SQLException {
        var result = new ArrayList<Permission>();
        for (JsonNode p : parse(text, "permissions")) {
            result.add(new Permission(textOrNull(p, "kind"), textOrNull(p, "target"), textOrNull(p, "actions")));
        }
        return result;
    }

    private static String textOrNull(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private JsonNode parse(String text, String column) throws SQLException {
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SQLException("Column " + column + " does not hold JSON", "22000", e);
        }
    }
}

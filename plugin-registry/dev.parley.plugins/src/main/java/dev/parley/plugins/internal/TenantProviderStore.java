package dev.parley.plugins.internal;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The provider instances tenants own, in the table this bundle's V10 migration creates. Secret settings (keys starting
 * with a dot) are sealed before they are written, bound to tenant, instance, plugin and key: a sealed value copied
 * into another tenant's row does not open there.
 */
final class TenantProviderStore {
    static final String MIGRATION = "V10__tenant_providers.sql";

    /** One instance; {@code settings} with secrets opened (a secret this node cannot open is left out). */
    record Instance(String tenantId, String name, String pluginId, String factoryPid, Map<String, Object> settings,
            long generation, Instant createdAt, Instant updatedAt, String updatedBy) {

        /** The provider id the instance runs under: the tenant's namespace, so it never meets another's. */
        String providerId() {
            return providerId(tenantId, name);
        }

        static String providerId(String tenantId, String name) {
            return tenantId + "~" + name;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(TenantProviderStore.class);
    private static final TypeReference<Map<String, Object>> SETTINGS = new TypeReference<>() { };

    private final Database database;
    private final SecretSealer sealer;
    private final ObjectMapper json = new ObjectMapper();

    TenantProviderStore(Database database, SecretSealer sealer) {
        this.database = database;
        this.sealer = sealer;
    }

    List<Instance> all() {
        return query("SELECT * FROM tenant_providers ORDER BY tenant_id, name", ps -> { });
    }

    List<Instance> of(String tenantId) {
        return query("SELECT * FROM tenant_providers WHERE tenant_id = ? ORDER BY name", ps -> ps.setString(1, tenantId));
    }

    Optional<Instance> get(String tenantId, String name) {
        return query("SELECT * FROM tenant_providers WHERE tenant_id = ? AND name = ?", ps -> {
            ps.setString(1, tenantId);
            ps.setString(2, name);
        }).stream().findFirst();
    }

    /**
     * Creates the instance (when {@code expectedGeneration} is 0, and the tenant has fewer than {@code max}) or
     * replaces the row written at {@code expectedGeneration}.
     *
     * @throws ParleyException CONFLICT when someone else changed or created it first, or the tenant has {@code max}
     */
    void put(Instance i, long expectedGeneration, int max) {
        String config = write(i);
        database.inTransaction("write tenant provider", c -> {
            if (expectedGeneration == 0) {
                int count;
                try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM tenant_providers WHERE tenant_id = ?")) {
                    ps.setString(1, i.tenantId());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        count = rs.getInt(1);
                    }
                }
                if (count >= max) {
                    throw new ParleyException(ErrorCode.CONFLICT, "Tenant '" + i.tenantId() + "' has " + count
                            + " provider instances, the most the operator allows (PARLEY_TENANT_PROVIDERS_MAX=" + max
                            + "); delete one first.");
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO tenant_providers (tenant_id, name, plugin_id, "
                        + "factory_pid, config, generation, created_at, updated_at, updated_by) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setString(1, i.tenantId());
                    ps.setString(2, i.name());
                    ps.setString(3, i.pluginId());
                    ps.setString(4, i.factoryPid());
                    ps.setString(5, config);
                    ps.setLong(6, i.generation());
                    ps.setObject(7, Sql.timestamp(i.createdAt()));
                    ps.setObject(8, Sql.timestamp(i.updatedAt()));
                    ps.setString(9, i.updatedBy());
                    ps.executeUpdate();
                } catch (SQLException e) {
                    if (Sql.isUniqueViolation(e)) {
                        throw conflict(i);
                    }
                    throw e;
                }
                return null;
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE tenant_providers SET plugin_id = ?, factory_pid = ?, "
                    + "config = ?, generation = ?, updated_at = ?, updated_by = ? "
                    + "WHERE tenant_id = ? AND name = ? AND generation = ?")) {
                ps.setString(1, i.pluginId());
                ps.setString(2, i.factoryPid());
                ps.setString(3, config);
                ps.setLong(4, i.generation());
                ps.setObject(5, Sql.timestamp(i.updatedAt()));
                ps.setString(6, i.updatedBy());
                ps.setString(7, i.tenantId());
                ps.setString(8, i.name());
                ps.setLong(9, expectedGeneration);
                if (ps.executeUpdate() != 1) {
                    throw conflict(i);
                }
            }
            return null;
        });
    }

    /** @return whether there was such an instance */
    boolean delete(String tenantId, String name) {
        return database.inTransaction("delete tenant provider", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM tenant_providers WHERE tenant_id = ? AND name = ?")) {
                ps.setString(1, tenantId);
                ps.setString(2, name);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /**
     * Seals again, with the current master key, every secret sealed with an older one (or stored in plain text).
     *
     * @return the rows rewritten
     */
    int reseal() {
        int rewritten = 0;
        for (Instance row : query("SELECT * FROM tenant_providers", ps -> { }, false)) {
            boolean stale = row.settings().entrySet().stream().anyMatch(e -> secret(e.getKey())
                    && e.getValue() instanceof String text && (!sealer.isSealed(text) || sealer.needsReseal(text)));
            if (!stale) {
                continue;
            }
            String config;
            try {
                config = write(open(row, true));
            } catch (ParleyException e) {
                // A key this node lacks: leave the row as it is (a node that has the key seals it), go on with the rest.
                LOG.error("tenant provider secrets not sealed again tenant={} instance={} reason=\"{}\"", row.tenantId(),
                        row.name(), e.getMessage());
                continue;
            }
            rewritten += database.inTransaction("reseal tenant provider", c -> {
                try (PreparedStatement ps = c.prepareStatement("UPDATE tenant_providers SET config = ? "
                        + "WHERE tenant_id = ? AND name = ? AND generation = ?")) {
                    ps.setString(1, config);
                    ps.setString(2, row.tenantId());
                    ps.setString(3, row.name());
                    ps.setLong(4, row.generation());
                    return ps.executeUpdate();
                }
            });
        }
        return rewritten;
    }

    /** Settings whose key starts with a dot are secrets, as for the plugins' own settings. */
    static boolean secret(String key) {
        return key.startsWith(".");
    }

    private static String purpose(String tenantId, String name, String pluginId, String key) {
        return "tenant-provider:" + tenantId + ":" + name + ":" + pluginId + ":" + key;
    }

    private String write(Instance i) {
        Map<String, Object> sealed = new LinkedHashMap<>();
        i.settings().forEach((key, value) -> sealed.put(key, !secret(key) || !(value instanceof String text) ? value
                : sealer.seal(text, purpose(i.tenantId(), i.name(), i.pluginId(), key))));
        try {
            return json.writeValueAsString(sealed);
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.INTERNAL, "cannot serialise the provider settings", e);
        }
    }

    private Map<String, Object> parse(String config) {
        try {
            return json.readValue(config, SETTINGS);
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "unreadable tenant provider settings", e);
        }
    }

    /**
     * The instance with its secrets opened. A secret this node cannot open is left out with an ERROR line, unless
     * {@code strict}; one tenant's unreadable secret must not stop the others.
     */
    private Instance open(Instance row, boolean strict) {
        Map<String, Object> opened = new LinkedHashMap<>();
        row.settings().forEach((key, value) -> {
            if (!secret(key) || !(value instanceof String text) || !sealer.isSealed(text)) {
                opened.put(key, value);
                return;
            }
            try {
                opened.put(key, sealer.open(text, purpose(row.tenantId(), row.name(), row.pluginId(), key)));
            } catch (ParleyException e) {
                if (strict) {
                    throw e;
                }
                LOG.error("tenant provider secret setting left out tenant={} instance={} key={} reason=\"{}\"",
                        row.tenantId(), row.name(), key, e.getMessage());
            }
        });
        return new Instance(row.tenantId(), row.name(), row.pluginId(), row.factoryPid(), opened, row.generation(),
                row.createdAt(), row.updatedAt(), row.updatedBy());
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private List<Instance> query(String sql, Binder binder) {
        return query(sql, binder, true);
    }

    /** @param opened whether secrets are opened (else: as stored, sealed) */
    private List<Instance> query(String sql, Binder binder, boolean opened) {
        List<Instance> rows = database.inTransaction("read tenant providers", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                List<Instance> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Instance(rs.getString("tenant_id"), rs.getString("name"), rs.getString("plugin_id"),
                                rs.getString("factory_pid"), parse(rs.getString("config")), rs.getLong("generation"),
                                Sql.instant(rs, "created_at"), Sql.instant(rs, "updated_at"), rs.getString("updated_by")));
                    }
                }
                return out;
            }
        });
        return opened ? rows.stream().map(r -> open(r, false)).toList() : rows;
    }

    private static ParleyException conflict(Instance i) {
        return new ParleyException(ErrorCode.CONFLICT, "Provider instance '" + i.name() + "' of tenant '" + i.tenantId()
                + "' was changed or created by someone else meanwhile; read it again and retry.");
    }
}

package dev.parley.api.identity;

import java.util.EnumSet;
import java.util.Set;

import static dev.parley.api.identity.Permission.*;

/** The roles a principal can hold within its tenant, most powerful first. */
public enum Role {
    /** Everything, including the tenant itself and other owners. */
    OWNER("owner", EnumSet.allOf(Permission.class)),
    /** Users, keys, models, budgets and settings of the tenant. */
    ADMIN("admin", EnumSet.complementOf(EnumSet.of(TENANTS_ADMIN))),
    /** Installing, upgrading and configuring plugins; publishing to the registry. */
    PLUGIN_ADMIN("plugin-admin", EnumSet.of(MODELS_READ, KEYS_OWN, PLUGINS_ADMIN, REGISTRY_PUBLISH)),
    /** Chat and API keys for programs. */
    DEVELOPER("developer", EnumSet.of(CHAT, MODELS_READ, CONVERSATIONS_READ, KEYS_OWN, USAGE_READ)),
    /** Chat. */
    MEMBER("member", EnumSet.of(CHAT, MODELS_READ, CONVERSATIONS_READ)),
    /** Reading what the tenant shares, no chat. */
    VIEWER("viewer", EnumSet.of(MODELS_READ, CONVERSATIONS_READ));

    private final String slug;
    private final Set<Permission> permissions;

    Role(String slug, Set<Permission> permissions) {
        this.slug = slug;
        this.permissions = Set.copyOf(permissions);
    }

    /** What this role allows (platform permissions only count within the operator tenant). */
    public Set<Permission> permissions() {
        return permissions;
    }

    /** The role's name on the wire and in configuration, e.g. {@code plugin-admin}. */
    public String slug() {
        return slug;
    }

    /** The role named {@code slug} (case-insensitive), or null when there is none. */
    public static Role fromSlug(String slug) {
        for (Role r : values()) {
            if (r.slug.equalsIgnoreCase(slug)) {
                return r;
            }
        }
        return null;
    }
}

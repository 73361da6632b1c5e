package dev.parley.api.identity;

/** The roles a principal can hold within its tenant, most powerful first. */
public enum Role {
    /** Everything, including the tenant itself and other owners. */
    OWNER("owner"),
    /** Users, keys, models, budgets and settings of the tenant. */
    ADMIN("admin"),
    /** Installing, upgrading and configuring plugins; publishing to the registry. */
    PLUGIN_ADMIN("plugin-admin"),
    /** Chat and API keys for programs. */
    DEVELOPER("developer"),
    /** Chat. */
    MEMBER("member"),
    /** Reading what the tenant shares, no chat. */
    VIEWER("viewer");

    private final String slug;

    Role(String slug) {
        this.slug = slug;
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

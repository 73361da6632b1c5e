package dev.parley.api.identity;

/**
 * What a principal may do. {@link Role}s grant permissions; the edge checks the permission a route needs and core
 * checks it again for every operation ({@link Principal#can(Permission)}).
 *
 * <p>A <em>platform</em> permission acts on what every tenant shares (plugins, the registry, the router, the tenants
 * themselves): it is held only by principals of the {@linkplain Principal#OPERATOR_TENANT operator tenant}, whatever
 * roles they have elsewhere.
 */
public enum Permission {
    /** Chat with the models: the native chat API, {@code /v1} completions, responses and messages, WebSocket. */
    CHAT("chat", false),
    /** List the models and aliases on offer. */
    MODELS_READ("models:read", false),
    /** Read the conversations it may see: its own, and those from before conversations had owners. */
    CONVERSATIONS_READ("conversations:read", false),
    /**
     * See, write into and delete every conversation of the tenant, not only its own (with {@link #CONVERSATIONS_READ}
     * and {@link #CHAT} for each operation). Within the tenant only: it never reaches another tenant's.
     */
    CONVERSATIONS_ADMIN("conversations:admin", false),
    /** Create, list and revoke its own API keys. */
    KEYS_OWN("keys:own", false),
    /** List and revoke every API key of the tenant. */
    KEYS_ADMIN("keys:admin", false),
    /** Create users, change their roles, lock and unlock them, in the tenant. */
    USERS_ADMIN("users:admin", false),
    /** Enable and disable, for the tenant, the models and aliases the operator's plugins offer it. */
    MODELS_ADMIN("models:admin", false),
    /** Read the tenant's usage and cost records. */
    USAGE_READ("usage:read", false),
    /** Set the tenant's budgets, quotas and rate limits. */
    BUDGETS_ADMIN("budgets:admin", false),
    /** Read the tenant's audit trail (the operator tenant's admins read every tenant's). */
    AUDIT_READ("audit:read", false),
    /** Change the router: aliases, fallbacks, prices, breakers. */
    ROUTER_ADMIN("router:admin", true),
    /** Install, upgrade, roll back, configure and remove plugins. */
    PLUGINS_ADMIN("plugins:admin", true),
    /** Publish plugins and publishers to the registry. */
    REGISTRY_PUBLISH("registry:publish", true),
    /** Create, rename and close tenants. */
    TENANTS_ADMIN("tenants:admin", true),
    /**
     * Run the server itself: log levels, and every route no narrower permission covers (the edge's default, so that
     * a route nobody thought of is closed rather than open).
     */
    SYSTEM_ADMIN("system:admin", true);

    private final String slug;
    private final boolean platform;

    Permission(String slug, boolean platform) {
        this.slug = slug;
        this.platform = platform;
    }

    /** The permission's name on the wire and in API key scopes, e.g. {@code plugins:admin}. */
    public String slug() {
        return slug;
    }

    /** Whether it acts on what all tenants share, and so is held only within the operator tenant. */
    public boolean platform() {
        return platform;
    }

    /** The permission named {@code slug} (case-insensitive), or null when there is none. */
    public static Permission fromSlug(String slug) {
        for (Permission p : values()) {
            if (p.slug.equalsIgnoreCase(slug)) {
                return p;
            }
        }
        return null;
    }
}

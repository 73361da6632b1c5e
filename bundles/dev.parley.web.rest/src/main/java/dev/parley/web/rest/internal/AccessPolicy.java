package dev.parley.web.rest.internal;

import dev.parley.api.identity.Permission;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who may call which route: the one table the edge consults for every HTTP request (and the WebSocket upgrade),
 * whichever bundle serves the route. The first rule whose method and path match decides. A route no rule names
 * needs {@link Permission#SYSTEM_ADMIN}, so that a route nobody thought of is closed rather than open; the
 * route-walking test keeps every registered route in this table.
 *
 * <p>Path patterns are literal segments, {@code *} for exactly one segment, and a trailing {@code **} for any
 * number of segments (none included).
 */
final class AccessPolicy {
    /** What a rule asks of the caller. */
    enum Access {
        /** No credential needed; one sent is not even looked at. */
        PUBLIC,
        /** Any verified principal. */
        AUTHENTICATED,
        /** A verified principal that {@linkplain dev.parley.api.identity.Principal#can can} do the permission. */
        PERMISSION
    }

    /** One row of the table; {@code segments} is {@code pattern} split once, not on every request. */
    record Rule(Set<String> methods, String pattern, Access access, Permission permission, String[] segments) {
        Rule(Set<String> methods, String pattern, Access access, Permission permission) {
            this(methods, pattern, access, permission, split(pattern));
        }

        boolean matches(String method, String[] path) {
            return (methods.isEmpty() || methods.contains(method)) && AccessPolicy.matches(segments, path);
        }

        @Override
        public String toString() {
            String who = access == Access.PERMISSION ? permission.slug() : access.name().toLowerCase(Locale.ROOT);
            return (methods.isEmpty() ? "*" : String.join(",", methods)) + " " + pattern + " -> " + who;
        }
    }

    private static final Set<String> ANY = Set.of();
    private static final Set<String> READ = Set.of("GET", "HEAD");
    private static final Set<String> POST = Set.of("POST");

    static final Rule DEFAULT = new Rule(ANY, "/**", Access.PERMISSION, Permission.SYSTEM_ADMIN);

    private static final List<Rule> RULES = List.of(
            // Probes, scrapers and sign-in come without a credential.
            rule(READ, "/health/**", Access.PUBLIC, null),
            rule(READ, "/metrics", Access.PUBLIC, null),
            rule(POST, "/api/v1/auth/login", Access.PUBLIC, null),
            rule(POST, "/api/v1/auth/refresh", Access.PUBLIC, null),
            rule(ANY, "/api/v1/auth/oidc/**", Access.PUBLIC, null),
            rule(ANY, "/api/v1/auth/**", Access.AUTHENTICATED, null),
            // Chat, native and compatible.
            rule(POST, "/v1/chat/completions", Access.PERMISSION, Permission.CHAT),
            rule(POST, "/v1/responses", Access.PERMISSION, Permission.CHAT),
            rule(POST, "/v1/messages", Access.PERMISSION, Permission.CHAT),
            rule(POST, "/v1/messages/count_tokens", Access.PERMISSION, Permission.CHAT),
            rule(POST, "/v1/embeddings", Access.PERMISSION, Permission.CHAT),
            rule(READ, "/v1/models/**", Access.PERMISSION, Permission.MODELS_READ),
            rule(READ, "/api/v1/models/**", Access.PERMISSION, Permission.MODELS_READ),
            rule(READ, "/api/v1/chat/ws", Access.PERMISSION, Permission.CHAT),
            rule(READ, "/api/v1/conversations/**", Access.PERMISSION, Permission.CONVERSATIONS_READ),
            rule(ANY, "/api/v1/conversations/**", Access.PERMISSION, Permission.CHAT),
            rule(READ, "/api/v1/usage/**", Access.PERMISSION, Permission.USAGE_READ),
            rule(ANY, "/api/v1/keys/**", Access.PERMISSION, Permission.KEYS_OWN),
            // Administration, tenant-wide.
            rule(ANY, "/api/v1/admin/keys/**", Access.PERMISSION, Permission.KEYS_ADMIN),
            rule(ANY, "/api/v1/admin/users/**", Access.PERMISSION, Permission.USERS_ADMIN),
            rule(READ, "/api/v1/admin/audit/**", Access.PERMISSION, Permission.AUDIT_READ),
            rule(ANY, "/api/v1/admin/budgets/**", Access.PERMISSION, Permission.BUDGETS_ADMIN),
            rule(ANY, "/api/v1/admin/limits/**", Access.PERMISSION, Permission.BUDGETS_ADMIN),
            rule(ANY, "/api/v1/tenant/models/**", Access.PERMISSION, Permission.MODELS_ADMIN),
            rule(ANY, "/api/v1/tenant/providers/**", Access.PERMISSION, Permission.MODELS_ADMIN),
            // Administration of what every tenant shares.
            rule(ANY, "/api/v1/admin/tenants/**", Access.PERMISSION, Permission.TENANTS_ADMIN),
            rule(ANY, "/api/v1/admin/models/**", Access.PERMISSION, Permission.ROUTER_ADMIN),
            rule(ANY, "/api/v1/admin/plugins/**", Access.PERMISSION, Permission.PLUGINS_ADMIN),
            rule(ANY, "/api/v1/admin/plugin-access/**", Access.PERMISSION, Permission.PLUGINS_ADMIN),
            rule(ANY, "/api/v1/admin/sandbox/**", Access.PERMISSION, Permission.PLUGINS_ADMIN),
            rule(ANY, "/api/v1/admin/registry/**", Access.PERMISSION, Permission.REGISTRY_PUBLISH),
            rule(POST, "/api/v1/registry/plugins", Access.PERMISSION, Permission.REGISTRY_PUBLISH),
            rule(READ, "/api/v1/registry/**", Access.PERMISSION, Permission.PLUGINS_ADMIN),
            rule(ANY, "/api/v1/admin/loggers/**", Access.PERMISSION, Permission.SYSTEM_ADMIN));

    private AccessPolicy() {
    }

    /** The rule for {@code method} on {@code path} (a decoded request path, starting with {@code /}). */
    static Rule ruleFor(String method, String path) {
        String[] segments = split(path);
        for (Rule r : RULES) {
            if (r.matches(method, segments)) {
                return r;
            }
        }
        return DEFAULT;
    }

    /** Every rule but the default, in the order they are tried. */
    static List<Rule> rules() {
        return RULES;
    }

    private static Rule rule(Set<String> methods, String pattern, Access access, Permission permission) {
        return new Rule(methods, pattern, access, permission);
    }

    /** The non-empty segments of a path: {@code //a/b/} and {@code /a/b} are the same route. */
    static String[] split(String path) {
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out.toArray(String[]::new);
    }

    static boolean matches(String[] pattern, String[] path) {
        for (int i = 0; i < pattern.length; i++) {
            if (pattern[i].equals("**") && i == pattern.length - 1) {
                return true;
            }
            if (i >= path.length || !(pattern[i].equals("*") || pattern[i].equals(path[i]))) {
                return false;
            }
        }
        return pattern.length == path.length;
    }
}

package dev.parley.identity.apikeys.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What a new key may be: its name, roles (at most its creator's), scopes (permissions its roles grant and models,
 * never more than the creator's credential allows) and expiry (capped by configuration). Every refusal is a 400
 * naming the field.
 */
final class KeyRules {
    static final int MAX_NAME = 100;
    static final int MAX_SCOPES = 64;
    static final int MAX_MODEL_ID = 200;
    /** Without a configured cap, still no more than a century: an integer of days must not overflow a date. */
    static final int ABSOLUTE_MAX_DAYS = 36500;

    /** A request for a key, as it came. Any field may be null. */
    record Request(String name, List<String> scopes, List<String> roles, Integer expiresInDays) {
    }

    /** A checked request. {@code expiresAt} null: never expires. */
    record Spec(String name, Set<Role> roles, List<String> scopes, Instant expiresAt) {
    }

    private KeyRules() {
    }

    /**
     * Checks {@code request} of {@code creator} at {@code now}.
     *
     * @param maxExpiryDays the configured longest life; 0 for none
     * @throws ParleyException INVALID_REQUEST naming the field
     */
    static Spec check(Principal creator, Request request, int maxExpiryDays, Instant now) {
        if (request == null) {
            throw ParleyException.invalid(null, "The body must be a JSON object, e.g. "
                    + "{\"name\":\"ci-deploy\",\"scopes\":[\"chat\"],\"expires_in_days\":30}.");
        }
        String name = name(request.name());
        Set<Role> roles = roles(creator, request.roles());
        List<String> scopes = scopes(creator, roles, request.scopes());
        Instant expiresAt = expiry(request.expiresInDays(), maxExpiryDays, now);
        return new Spec(name, roles, scopes, expiresAt);
    }

    static String name(String name) {
        if (name == null || name.isBlank()) {
            throw ParleyException.invalid("name", "Field 'name' is required: say what the key is for, e.g. "
                    + "\"ci-deploy\".");
        }
        String stripped = name.strip();
        if (stripped.length() > MAX_NAME) {
            throw ParleyException.invalid("name", "Field 'name' is at most " + MAX_NAME + " characters.");
        }
        for (int i = 0; i < stripped.length(); i++) {
            if (Character.isISOControl(stripped.charAt(i))) {
                throw ParleyException.invalid("name", "Field 'name' must not contain control characters.");
            }
        }
        return stripped;
    }

    static Set<Role> roles(Principal creator, List<String> requested) {
        if (requested == null) {
            return creator.roles().isEmpty() ? EnumSet.noneOf(Role.class) : EnumSet.copyOf(creator.roles());
        }
        if (requested.isEmpty()) {
            throw ParleyException.invalid("roles", "Field 'roles' needs at least one role; leave it out for the key "
                    + "to act with your roles.");
        }
        EnumSet<Permission> held = EnumSet.noneOf(Permission.class);
        creator.roles().forEach(r -> held.addAll(r.permissions()));
        EnumSet<Role> out = EnumSet.noneOf(Role.class);
        for (int i = 0; i < requested.size(); i++) {
            String slug = requested.get(i);
            Role role = slug == null ? null : Role.fromSlug(slug.strip());
            String field = "roles[" + i + "]";
            if (role == null) {
                throw ParleyException.invalid(field, "Field '" + field + "': unknown role " + quote(slug)
                        + "; roles are " + Set.of(Role.values()).stream().map(Role::slug).sorted()
                                .collect(Collectors.joining(", ")) + ".");
            }
            if (!held.containsAll(role.permissions())) {
                throw ParleyException.invalid(field, "Field '" + field + "': role '" + role.slug()
                        + "' allows more than your roles do; a key acts with at most its creator's roles.");
            }
            out.add(role);
        }
        return out;
    }

    static List<String> scopes(Principal creator, Set<Role> roles, List<String> requested) {
        boolean given = requested != null;
        LinkedHashSet<String> out = new LinkedHashSet<>();
        if (!given) {
            // The creator's own limits carry over; other scopes of its token (openid, profile) mean nothing here.
            for (String s : creator.scopes()) {
                if (Permission.fromSlug(s) != null || isModelScope(s)) {
                    out.add(normal(s));
                }
            }
        } else {
            if (requested.size() > MAX_SCOPES) {
                throw ParleyException.invalid("scopes", "Field 'scopes' holds at most " + MAX_SCOPES + " scopes.");
            }
            Principal rolesOnly = keyPrincipal(creator, roles, Set.of());
            for (int i = 0; i < requested.size(); i++) {
                String scope = requested.get(i);
                String field = "scopes[" + i + "]";
                if (scope == null || scope.isBlank()) {
                    throw ParleyException.invalid(field, "Field '" + field + "' is empty.");
                }
                scope = scope.strip();
                Permission p = Permission.fromSlug(scope);
                if (p != null) {
                    if (!rolesOnly.can(p)) {
                        throw ParleyException.invalid(field, "Field '" + field + "': the key's roles do not grant '"
                                + p.slug() + "'.");
                    }
                    out.add(p.slug());
                } else if (scope.startsWith(Principal.MODEL_SCOPE_PREFIX)) {
                    String model = scope.substring(Principal.MODEL_SCOPE_PREFIX.length());
                    if (model.isEmpty() || model.length() > MAX_MODEL_ID || !printable(model)) {
                        throw ParleyException.invalid(field, "Field '" + field + "': a model scope is model:<model "
                                + "id>, the id 1 to " + MAX_MODEL_ID + " characters without spaces.");
                    }
                    out.add(scope);
                } else {
                    throw ParleyException.invalid(field, "Field '" + field + "': unknown scope " + quote(scope)
                            + "; a scope is a permission (" + permissionList() + ") or model:<model id>.");
                }
            }
        }
        List<String> scopes = new ArrayList<>(out);
        Principal key = keyPrincipal(creator, roles, Set.copyOf(scopes));
        for (Permission p : Permission.values()) {
            if (key.can(p) && !creator.can(p)) {
                throw ParleyException.invalid("scopes", "Field 'scopes': the key would allow '" + p.slug()
                        + "', which your credential does not; name scopes within your own.");
            }
        }
        Set<String> creatorModels = models(creator.scopes());
        if (!creatorModels.isEmpty()) {
            Set<String> keyModels = models(scopes);
            if (keyModels.isEmpty() || !creatorModels.containsAll(keyModels)) {
                throw ParleyException.invalid("scopes", "Field 'scopes': your credential is limited to the models "
                        + String.join(", ", creatorModels) + "; the key must name models among them.");
            }
        }
        return scopes;
    }

    static Instant expiry(Integer days, int maxExpiryDays, Instant now) {
        int cap = maxExpiryDays > 0 ? Math.min(maxExpiryDays, ABSOLUTE_MAX_DAYS) : ABSOLUTE_MAX_DAYS;
        if (days == null) {
            return maxExpiryDays > 0 ? now.plus(Duration.ofDays(cap)) : null;
        }
        if (days < 1) {
            throw ParleyException.invalid("expires_in_days", "Field 'expires_in_days' must be at least 1.");
        }
        if (days > cap) {
            throw ParleyException.invalid("expires_in_days", "Field 'expires_in_days' is at most " + cap
                    + (maxExpiryDays > 0 ? " on this server." : "."));
        }
        return now.plus(Duration.ofDays(days));
    }

    /** The principal a key with these roles and scopes would present, for checking what it could do. */
    static Principal keyPrincipal(Principal creator, Set<Role> roles, Set<String> scopes) {
        return new Principal(creator.subject(), creator.tenantId(), roles, AuthMethod.API_KEY, ApiKeys.ISSUER, scopes,
                null, "");
    }

    private static boolean isModelScope(String s) {
        return s.startsWith(Principal.MODEL_SCOPE_PREFIX) && s.length() > Principal.MODEL_SCOPE_PREFIX.length()
                && s.length() <= Principal.MODEL_SCOPE_PREFIX.length() + MAX_MODEL_ID
                && printable(s.substring(Principal.MODEL_SCOPE_PREFIX.length()));
    }

    private static String normal(String s) {
        Permission p = Permission.fromSlug(s);
        return p != null ? p.slug() : s;
    }

    private static Set<String> models(Iterable<String> scopes) {
        Set<String> out = new TreeSet<>(); // sorted: messages name them in a stable order
        for (String s : scopes) {
            if (s.startsWith(Principal.MODEL_SCOPE_PREFIX)) {
                out.add(s.substring(Principal.MODEL_SCOPE_PREFIX.length()));
            }
        }
        return out;
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c) || Character.isISOControl(c)) {
                return false;
            }
        }
        return true;
    }

    private static String permissionList() {
        StringBuilder out = new StringBuilder();
        for (Permission p : Permission.values()) {
            out.append(out.isEmpty() ? "" : ", ").append(p.slug());
        }
        return out.toString();
    }

    /** A value quoted for a message, cut short: the caller sent it, but messages stay readable. */
    private static String quote(String s) {
        if (s == null) {
            return "null";
        }
        return "'" + (s.length() > 60 ? s.substring(0, 60) + "…" : s) + "'";
    }
}

package dev.parley.api.identity;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A verified caller.
 *
 * @param subject stable id of the user or program within its issuer (never an email address that can change)
 * @param tenantId the tenant everything it does is scoped to
 * @param roles its roles in that tenant (may be empty: authenticated, allowed nothing)
 * @param method how it proved who it is
 * @param issuer who vouched for it: Parley's own issuer, the OIDC issuer URL, or {@code "api-key"}
 * @param scopes what an API key or token is limited to (e.g. {@code models:gpt-4o}, {@code read-only}); empty: no
 *               limit beyond the roles
 * @param expiresAt when the credential stops being valid; null when it does not expire
 */
public record Principal(String subject, String tenantId, Set<Role> roles, AuthMethod method, String issuer,
        Set<String> scopes, Instant expiresAt) {
    public Principal {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(issuer, "issuer");
        roles = Set.copyOf(roles);
        scopes = Set.copyOf(scopes);
    }

    /** Whether it holds {@code role}. */
    public boolean has(Role role) {
        return roles.contains(role);
    }
}

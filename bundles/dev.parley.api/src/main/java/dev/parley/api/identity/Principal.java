package dev.parley.api.identity;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
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
 * @param scopes what an API key or token is limited to: {@link Permission} slugs (e.g. {@code chat},
 *               {@code models:read}) and model limits ({@code model:gpt-4o}); empty: no limit beyond the roles
 * @param expiresAt when the credential stops being valid; null when it does not expire
 * @param credentialId which credential it presented, so that revoking that one credential can end what it opened
 *                     (an API key's id, the session of Parley's own tokens, an OIDC token's {@code jti}); empty when
 *                     it has none
 */
public record Principal(String subject, String tenantId, Set<Role> roles, AuthMethod method, String issuer,
        Set<String> scopes, Instant expiresAt, String credentialId) {
    public Principal {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(issuer, "issuer");
        roles = Set.copyOf(roles);
        scopes = Set.copyOf(scopes);
        credentialId = credentialId == null ? "" : credentialId;
    }

    /** The tenant of the operator who runs this Parley: the one whose principals may hold platform permissions. */
    public static final String OPERATOR_TENANT = "default";

    /**
     * The name of the servlet request attribute under which the edge leaves the verified principal of an HTTP
     * request (absent on the few public routes: health, sign-in).
     */
    public static final String REQUEST_ATTRIBUTE = "dev.parley.principal";

    /** The prefix of a scope that limits the models a credential may use, e.g. {@code model:gpt-4o}. */
    public static final String MODEL_SCOPE_PREFIX = "model:";

    /**
     * Whether it may do {@code permission}: one of its roles grants it; when its scopes name any permission, they
     * name this one; and a platform permission only within the operator tenant.
     */
    public boolean can(Permission permission) {
        if (permission.platform() && !OPERATOR_TENANT.equals(tenantId)) {
            return false;
        }
        boolean granted = false;
        for (Role r : roles) {
            if (r.permissions().contains(permission)) {
                granted = true;
                break;
            }
        }
        if (!granted || scopes.contains(permission.slug())) {
            return granted;
        }
        for (String scope : scopes) {
            if (Permission.fromSlug(scope) != null) {
                return false;
            }
        }
        return true;
    }

    /** Whether it may use {@code model}: its scopes name no model, or name this one ({@code model:<id>}). */
    public boolean mayUseModel(String model) {
        boolean limited = false;
        for (String scope : scopes) {
            if (scope.startsWith(MODEL_SCOPE_PREFIX)) {
                if (scope.regionMatches(MODEL_SCOPE_PREFIX.length(), model, 0, model.length())
                        && scope.length() == MODEL_SCOPE_PREFIX.length() + model.length()) {
                    return true;
                }
                limited = true;
            }
        }
        return !limited;
    }

    /**
     * The principal the edge left in a request (the value of the {@link #REQUEST_ATTRIBUTE} attribute), checked
     * again for {@code permission}: the second line behind the edge, in every resource. Throws
     * {@link ParleyException} {@link ErrorCode#UNAUTHORIZED} when there is none (the edge is not in front, so the
     * request is refused rather than let through) and {@link ErrorCode#FORBIDDEN} when it may not.
     */
    public static Principal required(Object requestAttribute, Permission permission) {
        if (!(requestAttribute instanceof Principal)) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "This route needs a verified credential.");
        }
        Principal p = (Principal) requestAttribute;
        if (!p.can(permission)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "This needs the permission '" + permission.slug()
                    + "', which this credential's roles or scopes do not grant.");
        }
        return p;
    }

    /** Whether it holds {@code role}. */
    public boolean has(Role role) {
        return roles.contains(role);
    }
}

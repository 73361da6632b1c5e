package dev.parley.itests;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.util.Set;

/**
 * Signed-in users of any tenant, for in-framework tests: the credential {@code <prefix><tenant>:<subject>:<role>}
 * (see {@link #credential}) is a principal of that tenant with that one role, as the built-in sign-in would make it.
 * Each test registers its own with its own prefix, so that tests never recognize each other's credentials.
 */
final class TenantUsers implements BearerAuthenticator {
    private final String prefix;

    TenantUsers(String prefix) {
        this.prefix = prefix;
    }

    String credential(String tenant, String subject, Role role) {
        return prefix + tenant + ":" + subject + ":" + role.slug();
    }

    @Override
    public boolean recognizes(String credential) {
        return credential.startsWith(prefix);
    }

    @Override
    public Principal authenticate(String credential) {
        String[] p = credential.substring(prefix.length()).split(":");
        Role role = p.length == 3 ? Role.fromSlug(p[2]) : null;
        if (role == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "bad test credential");
        }
        return new Principal(p[1], p[0], Set.of(role), AuthMethod.PASSWORD, "itest", Set.of(), null,
                "session-" + p[0] + "-" + p[1]);
    }
}

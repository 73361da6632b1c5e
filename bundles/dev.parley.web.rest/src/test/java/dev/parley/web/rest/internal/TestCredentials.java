package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.util.EnumSet;
import java.util.Set;

/**
 * Credentials that say who they are, for tests of who may do what: {@code as:<role>[+<role>...][@<tenant>]}, e.g.
 * {@code as:member@acme} or {@code as:viewer}, with {@code #<anything>} for another credential of the same user
 * ({@code as:member@acme#2}); {@code as:broken} fails as an authenticator must not, {@code
 * as:unavailable} as an unreachable identity provider does.
 */
final class TestCredentials implements BearerAuthenticator {
    static final String PREFIX = "as:";

    @Override
    public boolean recognizes(String credential) {
        return credential.startsWith(PREFIX);
    }

    @Override
    public Principal authenticate(String credential) {
        String spec = credential.substring(PREFIX.length());
        // "#<anything>" makes another credential of the same user (another API key, another session).
        int hash = spec.indexOf('#');
        if (hash >= 0) {
            spec = spec.substring(0, hash);
        }
        if (spec.equals("broken")) {
            throw new IllegalStateException("authenticator bug");
        }
        if (spec.equals("unavailable")) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "the identity provider cannot be reached",
                    java.time.Duration.ofSeconds(7), null);
        }
        String tenant = Principal.OPERATOR_TENANT;
        int at = spec.indexOf('@');
        if (at >= 0) {
            tenant = spec.substring(at + 1);
            spec = spec.substring(0, at);
        }
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String slug : spec.split("\\+")) {
            Role r = Role.fromSlug(slug);
            if (r == null) {
                throw new ParleyException(ErrorCode.UNAUTHORIZED, "no such test role " + slug);
            }
            roles.add(r);
        }
        return new Principal("user-" + spec, tenant, roles, AuthMethod.API_KEY, "test", Set.of(), null, credential);
    }
}

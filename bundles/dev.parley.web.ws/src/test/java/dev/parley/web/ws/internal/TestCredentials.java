package dev.parley.web.ws.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A {@link BearerAuthenticator} for tests: credentials starting {@code test-} map to principals the test set. */
final class TestCredentials implements BearerAuthenticator {
    static final String MEMBER = "test-member";
    static final String VIEWER = "test-viewer";
    static final String UNREACHABLE = "test-unreachable";

    private final Map<String, Principal> principals = new ConcurrentHashMap<>();

    TestCredentials() {
        principals.put(MEMBER, principal("alice", Role.MEMBER, null, "cred-member"));
        principals.put(VIEWER, principal("victor", Role.VIEWER, null, "cred-viewer"));
    }

    static Principal principal(String subject, Role role, Instant expiresAt, String credentialId) {
        return new Principal(subject, "acme", Set.of(role), AuthMethod.API_KEY, "test", Set.of(), expiresAt,
                credentialId);
    }

    /** Registers {@code credential} for {@code principal}; returns the credential. */
    String add(String credential, Principal principal) {
        principals.put(credential, principal);
        return credential;
    }

    @Override
    public boolean recognizes(String credential) {
        return credential.startsWith("test-");
    }

    @Override
    public Principal authenticate(String credential) {
        if (UNREACHABLE.equals(credential)) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "the identity provider cannot be reached",
                    Duration.ofSeconds(7), null);
        }
        Principal p = principals.get(credential);
        if (p == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "unknown test credential");
        }
        return p;
    }
}

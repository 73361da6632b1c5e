package dev.parley.identity.apikeys.internal;

import dev.parley.api.identity.Role;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * One API key as stored: everything but the key itself, of which only the secret's SHA-256 is kept.
 *
 * @param scopes in the order given at creation, without duplicates
 */
record StoredKey(String id, String tenantId, String ownerSubject, String ownerIssuer, String name,
        String secretSha256, Set<Role> roles, List<String> scopes, Instant createdAt, Instant expiresAt,
        Instant revokedAt, String revokedBy, Instant lastUsedAt) {

    StoredKey {
        roles = Set.copyOf(roles);
        scopes = List.copyOf(scopes);
    }

    boolean revoked() {
        return revokedAt != null;
    }

    boolean expiredAt(Instant now) {
        return expiresAt != null && !now.isBefore(expiresAt);
    }

    @Override
    public String toString() {
        return "StoredKey[id=" + id + ", tenant=" + tenantId + ", owner=" + ownerSubject + "]";
    }
}

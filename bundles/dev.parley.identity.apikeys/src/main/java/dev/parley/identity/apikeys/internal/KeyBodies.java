package dev.parley.identity.apikeys.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/** The JSON of the keys API. Field names are snake_case, as in the request ({@code expires_in_days}). */
final class KeyBodies {
    private KeyBodies() {
    }

    /** {@code POST /api/v1/keys}. */
    record NewKey(String name, List<String> scopes, List<String> roles,
            @JsonProperty("expires_in_days") Integer expiresInDays) {
        KeyRules.Request request() {
            return new KeyRules.Request(name, scopes, roles, expiresInDays);
        }
    }

    /**
     * One key's metadata; {@code key} only in the answer to its creation (the one time it is shown).
     *
     * @param prefix what identifies the key where it is used, e.g. {@code pk-parley-7fT2mQ9xLp0a_}
     * @param status {@code active}, {@code expired} or {@code revoked}
     */
    record Key(String id, String prefix, String name, String owner, String tenant, List<String> roles,
            List<String> scopes, String status, @JsonProperty("created_at") Instant createdAt,
            @JsonProperty("expires_at") Instant expiresAt, @JsonProperty("revoked_at") Instant revokedAt,
            @JsonProperty("revoked_by") String revokedBy, @JsonProperty("last_used_at") Instant lastUsedAt,
            @JsonInclude(JsonInclude.Include.NON_NULL) String key) {

        static Key of(StoredKey k, Instant now) {
            return of(k, now, null);
        }

        static Key of(StoredKey k, Instant now, String key) {
            List<String> roles = k.roles().isEmpty() ? List.of()
                    : List.of(ApiKeyStore.roles(k.roles()).split(" "));
            return new Key(k.id(), ApiKeyFormat.displayPrefix(k.id()), k.name(), k.ownerSubject(), k.tenantId(),
                    roles, k.scopes(),
                    k.revoked() ? "revoked" : k.expiredAt(now) ? "expired" : "active", k.createdAt(), k.expiresAt(),
                    k.revokedAt(), k.revokedBy(), k.lastUsedAt(), key);
        }

        @Override
        public String toString() {
            return "Key[id=" + id + "]"; // never the key
        }
    }

    /** A page of keys, newest first. */
    record KeyList(List<Key> keys, long total, int offset, int limit) {
        static KeyList of(KeyPage page, Instant now) {
            return new KeyList(page.keys().stream().map(k -> Key.of(k, now)).toList(), page.total(), page.offset(),
                    page.limit());
        }
    }
}

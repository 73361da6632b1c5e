package dev.parley.budgets.internal;

import java.util.Locale;

/** Whose spend a budget limits. Reservations take them in this order (a fixed lock order across nodes). */
enum Scope {
    /** Every request of the tenant. */
    TENANT("tenant", "the tenant"),
    /** Every request of one user (subject) of the tenant, whatever credential it comes with. */
    USER("user", "the user"),
    /** Every request made with one credential (an API key, by its id). */
    KEY("key", "the API key");

    private final String slug;
    private final String noun;

    Scope(String slug, String noun) {
        this.slug = slug;
        this.noun = noun;
    }

    String slug() {
        return slug;
    }

    /** Whose budget, as a refusal names it: {@code the user 'alice'}. */
    String describe(String tenantId, String scopeId) {
        return noun + " '" + (this == TENANT ? tenantId : scopeId) + "'";
    }

    /** The scope with {@code slug}, or null. */
    static Scope of(String slug) {
        if (slug == null) {
            return null;
        }
        for (Scope s : values()) {
            if (s.slug.equals(slug.strip().toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        return null;
    }
}

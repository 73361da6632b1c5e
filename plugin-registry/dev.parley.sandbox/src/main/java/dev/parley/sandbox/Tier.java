package dev.parley.sandbox;

import java.util.Locale;
import java.util.Optional;

/** How far Parley trusts a plugin's code; which tier a plugin is in follows from its publisher ({@link SandboxPolicy}). */
public enum Tier {
    /** The server's own plugins (publisher {@code parley}) and publishers an admin trusts as much. */
    TRUSTED,
    /** Publishers an admin added to the registry. */
    VERIFIED,
    /** Publishers an admin named as untrusted: the narrowest policy (and, later, a process of their own). */
    UNTRUSTED;

    /** The name in policy files and the admin API: {@code trusted}, {@code verified}, {@code untrusted}. */
    public String slug() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Tier> of(String slug) {
        if (slug != null) {
            for (Tier t : values()) {
                if (t.slug().equals(slug.strip())) {
                    return Optional.of(t);
                }
            }
        }
        return Optional.empty();
    }
}

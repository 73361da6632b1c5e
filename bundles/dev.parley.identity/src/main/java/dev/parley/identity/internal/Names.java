package dev.parley.identity.internal;

import dev.parley.api.error.ParleyException;
import java.util.Locale;
import java.util.regex.Pattern;

/** The shapes of tenant ids and usernames, checked before anything is looked up. */
final class Names {
    static final Pattern TENANT = Pattern.compile("[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?");
    static final Pattern USERNAME = Pattern.compile("[a-z0-9][a-z0-9._@+-]{0,127}");
    static final int MAX_TENANT_NAME = 200;

    private Names() {
    }

    /** A tenant id as given, checked; 400 naming {@code field} when it is not one. */
    static String tenant(String value, String field) {
        if (value == null || !TENANT.matcher(value).matches()) {
            throw ParleyException.invalid(field, "'" + field + "' must be a tenant id: 1-64 lower-case letters, "
                    + "digits and '-', not starting or ending with '-'");
        }
        return value;
    }

    /** A username in its stored form (lower case), checked; 400 naming {@code field} when it is not one. */
    static String username(String value, String field) {
        String v = value == null ? null : value.strip().toLowerCase(Locale.ROOT);
        if (v == null || !USERNAME.matcher(v).matches()) {
            throw ParleyException.invalid(field, "'" + field + "' must be 1-128 letters, digits, '.', '_', '@', '+' "
                    + "or '-', starting with a letter or digit");
        }
        return v;
    }
}

package dev.parley.audit.internal;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque cursor of the admin API: where the next page starts. Clients pass it back as they got it; what is
 * inside (the last row's id, versioned) may change.
 */
final class AuditCursor {
    private static final String PREFIX = "a1:";

    private AuditCursor() {
    }

    static String after(String id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((PREFIX + id).getBytes(StandardCharsets.US_ASCII));
    }

    /** The row id in {@code cursor}; null when it is not a cursor this API gave. */
    static String id(String cursor) {
        if (cursor == null || cursor.length() > 64) {
            return null;
        }
        try {
            String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
            if (!text.startsWith(PREFIX)) {
                return null;
            }
            String id = text.substring(PREFIX.length());
            return AuditIds.isId(id) ? id : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}

package dev.parley.audit.internal;

import dev.parley.api.audit.AuditOutcome;
import dev.parley.db.Sql;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A page of the audit trail to read, newest first (by id: the order events were recorded). Null filters match
 * everything.
 *
 * @param actor        exactly this actor
 * @param action       exactly this action, or, when {@code actionPrefix}, every action starting with it
 * @param actionPrefix whether {@code action} is a prefix ({@code plugin.} from {@code plugin.*})
 * @param target       exactly this target
 * @param outcome      this outcome
 * @param tenant       exactly this tenant
 * @param from         at or after this time ({@code at})
 * @param to           before this time
 * @param before       only rows recorded before the row with this id (the cursor of the page before)
 * @param limit        rows in the page, at most
 */
record AuditQuery(String actor, String action, boolean actionPrefix, String target, AuditOutcome outcome,
        String tenant, Instant from, Instant to, String before, int limit) {
    static final String COLUMNS = "id, at, actor, tenant_id, action, target, outcome, source_address, detail";

    /**
     * The SELECT for this page, its parameters appended to {@code params}. One row more than the limit is asked for,
     * so the reader knows whether another page follows.
     */
    String sql(List<Object> params) {
        List<String> where = new ArrayList<>();
        if (actor != null) {
            where.add("actor = ?");
            params.add(actor);
        }
        if (action != null) {
            if (actionPrefix) {
                where.add("action LIKE ? ESCAPE '!'");
                params.add(likeEscaped(action) + "%");
            } else {
                where.add("action = ?");
                params.add(action);
            }
        }
        if (target != null) {
            where.add("target = ?");
            params.add(target);
        }
        if (outcome != null) {
            where.add("outcome = ?");
            params.add(outcome.name());
        }
        if (tenant != null) {
            where.add("tenant_id = ?");
            params.add(tenant);
        }
        if (from != null) {
            where.add("at >= ?");
            params.add(Sql.timestamp(from));
        }
        if (to != null) {
            where.add("at < ?");
            params.add(Sql.timestamp(to));
        }
        if (before != null) {
            where.add("id < ?");
            params.add(before);
        }
        params.add(limit + 1);
        return "SELECT " + COLUMNS + " FROM parley_audit" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                + " ORDER BY id DESC LIMIT ?";
    }

    /** {@code text} for a LIKE pattern with {@code !} as the escape character: its own %, _ and ! match themselves. */
    static String likeEscaped(String text) {
        var out = new StringBuilder(text.length() + 4);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '%' || c == '_' || c == '!') {
                out.append('!');
            }
            out.append(c);
        }
        return out.toString();
    }
}

package dev.parley.audit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.Sql;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Turning the admin API's parameters into a query (who may read what, every bad parameter named) and into SQL. */
class AuditQueryTest {
    static final Principal OPERATOR_ADMIN = principal("root", Principal.OPERATOR_TENANT, Role.ADMIN);
    static final Principal ACME_ADMIN = principal("ann", "acme", Role.ADMIN);

    static Principal principal(String subject, String tenant, Role... roles) {
        return new Principal(subject, tenant, Set.of(roles), AuthMethod.PASSWORD, "parley", Set.of(), null, "");
    }

    static AuditQuery query(Principal p, String... pairs) {
        String actor = null, action = null, target = null, outcome = null, tenant = null, from = null, to = null,
                cursor = null, limit = null;
        for (int i = 0; i < pairs.length; i += 2) {
            String v = pairs[i + 1];
            switch (pairs[i]) {
            case "actor" -> actor = v;
            case "action" -> action = v;
            case "target" -> target = v;
            case "outcome" -> outcome = v;
            case "tenant" -> tenant = v;
            case "from" -> from = v;
            case "to" -> to = v;
            case "cursor" -> cursor = v;
            case "limit" -> limit = v;
            default -> throw new IllegalArgumentException(pairs[i]);
            }
        }
        return AuditResource.query(p, actor, action, target, outcome, tenant, from, to, cursor, limit);
    }

    @Test
    void withoutFiltersAnOperatorReadsEveryTenantFiftyAtATime() {
        AuditQuery q = query(OPERATOR_ADMIN);
        assertThat(q).isEqualTo(new AuditQuery(null, null, false, null, null, null, null, null, null, 50));
        List<Object> params = new ArrayList<>();
        assertThat(q.sql(params)).isEqualTo("SELECT " + AuditQuery.COLUMNS + " FROM parley_audit ORDER BY id DESC "
                + "LIMIT ?");
        assertThat(params).containsExactly(51);
    }

    @Test
    void everyFilterBecomesOneParameterisedCondition() {
        String id = new AuditIds(Clock.systemUTC()).next();
        AuditQuery q = query(OPERATOR_ADMIN, "actor", " alice ", "action", "plugin.*", "target", "plugin:x",
                "outcome", "Denied", "tenant", "acme", "from", "2026-12-01T00:00:00Z", "to", "2026-12-02T01:00:00+01:00",
                "cursor", AuditCursor.after(id), "limit", "500");
        assertThat(q).isEqualTo(new AuditQuery("alice", "plugin.", true, "plugin:x", AuditOutcome.DENIED, "acme",
                Instant.parse("2026-12-01T00:00:00Z"), Instant.parse("2026-12-02T00:00:00Z"), id, 500));
        List<Object> params = new ArrayList<>();
        assertThat(q.sql(params)).isEqualTo("SELECT " + AuditQuery.COLUMNS + " FROM parley_audit WHERE actor = ? AND "
                + "action LIKE ? ESCAPE '!' AND target = ? AND outcome = ? AND tenant_id = ? AND at >= ? AND at < ? "
                + "AND id < ? ORDER BY id DESC LIMIT ?");
        assertThat(params).containsExactly("alice", "plugin.%", "plugin:x", "DENIED", "acme",
                Sql.timestamp(Instant.parse("2026-12-01T00:00:00Z")), Sql.timestamp(Instant.parse("2026-12-02T00:00:00Z")),
                id, 501);
    }

    @Test
    void anExactActionIsComparedAsItIsAndAPrefixHasItsWildcardsEscaped() {
        List<Object> params = new ArrayList<>();
        assertThat(query(OPERATOR_ADMIN, "action", "plugin.install").sql(params)).contains("action = ?");
        assertThat(params).startsWith("plugin.install");
        assertThat(AuditQuery.likeEscaped("a_b%c!d")).isEqualTo("a!_b!%c!!d");
    }

    @Test
    void aPrincipalOutsideTheOperatorTenantReadsOnlyItsOwnTenant() {
        assertThat(query(ACME_ADMIN).tenant()).isEqualTo("acme");
        assertThat(query(ACME_ADMIN, "tenant", "acme").tenant()).isEqualTo("acme");
        assertThatThrownBy(() -> query(ACME_ADMIN, "tenant", "default")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        assertThat(query(OPERATOR_ADMIN, "tenant", "acme").tenant()).isEqualTo("acme");
    }

    @Test
    void noPrincipalIs401AndNoPermissionIs403() {
        assertThatThrownBy(() -> query(null)).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED));
        for (Role role : List.of(Role.MEMBER, Role.DEVELOPER, Role.PLUGIN_ADMIN, Role.VIEWER)) {
            assertThatThrownBy(() -> query(principal("m", "acme", role))).isInstanceOfSatisfying(
                    ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        }
        assertThat(query(principal("o", "acme", Role.OWNER)).tenant()).isEqualTo("acme");
    }

    @Test
    void everyBadParameterIsA400NamingIt() {
        assertBad("limit", "limit", "0");
        assertBad("limit", "limit", "501");
        assertBad("limit", "limit", "ten");
        assertBad("from", "from", "yesterday");
        assertBad("to", "to", "2026-12-01");
        assertBad("from", "from", "2026-12-02T00:00:00Z", "to", "2026-12-01T00:00:00Z");
        assertBad("outcome", "outcome", "maybe");
        assertBad("action", "action", "plugin.*.x");
        assertBad("action", "action", "*");
        assertBad("action", "action", "drop table;");
        assertBad("cursor", "cursor", "not-a-cursor");
        assertBad("cursor", "cursor", java.util.Base64.getUrlEncoder().encodeToString("a1:zz".getBytes()));
        assertBad("actor", "actor", "a".repeat(201));
        assertBad("target", "target", "t".repeat(401));
        assertBad("tenant", "tenant", "t".repeat(201));
    }

    private static void assertBad(String param, String... pairs) {
        assertThatThrownBy(() -> query(OPERATOR_ADMIN, pairs)).as(String.join("=", pairs))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains(param);
                    assertThat(e.getMessage()).contains("'" + param + "'");
                });
    }

    @Test
    void idsIncreaseAndCursorsRoundTrip() {
        var ids = new AuditIds(Clock.systemUTC());
        String previous = ids.next();
        for (int i = 0; i < 10_000; i++) {
            String next = ids.next();
            assertThat(next).hasSize(32).isGreaterThan(previous);
            assertThat(AuditIds.isId(next)).isTrue();
            previous = next;
        }
        assertThat(previous.charAt(12)).as("version 7").isEqualTo('7');
        assertThat(AuditCursor.id(AuditCursor.after(previous))).isEqualTo(previous);
        assertThat(AuditCursor.id(null)).isNull();
    }
}

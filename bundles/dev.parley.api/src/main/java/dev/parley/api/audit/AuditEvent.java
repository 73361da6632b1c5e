package dev.parley.api.audit;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One audited action.
 *
 * @param at when it happened
 * @param actor who did it: a principal's subject, {@code "anonymous"} for a failed sign-in by an unknown name,
 *              {@code "system"} for Parley itself
 * @param tenantId the tenant it happened in (the actor's tenant unless the action targets another)
 * @param action what was done, dotted, e.g. {@code auth.sign-in}, {@code apikey.create}, {@code plugin.install}
 * @param target what it was done to, e.g. a user's id, a key's prefix, {@code plugin:acme.weather@1.2.0}; may be empty
 * @param outcome how it ended
 * @param sourceAddress the client's address as the edge saw it; empty when not over the network
 * @param detail a few more facts (never secrets, passwords or key material), e.g. the reason for a denial
 */
public record AuditEvent(Instant at, String actor, String tenantId, String action, String target,
        AuditOutcome outcome, String sourceAddress, Map<String, String> detail) {
    public AuditEvent {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(actor, "actor");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(outcome, "outcome");
        target = target == null ? "" : target;
        sourceAddress = sourceAddress == null ? "" : sourceAddress;
        detail = detail == null ? Map.of() : Map.copyOf(detail);
    }
}

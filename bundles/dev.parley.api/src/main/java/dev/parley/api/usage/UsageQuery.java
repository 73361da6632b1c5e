package dev.parley.api.usage;

import java.time.Instant;

/**
 * Which usage records to list, newest first; every filter may be null.
 *
 * @param model          records whose requested model or answering model is this
 * @param providerId     records answered by this provider
 * @param conversationId records of this conversation
 * @param from           created at or after
 * @param to             created before
 * @param tenantId       records of this tenant; null: of every tenant (for the operator only: a front end passes the
 *                       caller's tenant for everyone else)
 */
public record UsageQuery(String model, String providerId, String conversationId, Instant from, Instant to, int offset,
        int limit, String tenantId) {
    public UsageQuery {
        if (offset < 0 || limit < 1) {
            throw new IllegalArgumentException("need offset >= 0 and limit >= 1");
        }
        if (from != null && to != null && !from.isBefore(to)) {
            throw new IllegalArgumentException("from must be before to");
        }
    }
}

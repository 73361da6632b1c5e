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
 */
public record UsageQuery(String model, String providerId, String conversationId, Instant from, Instant to, int offset,
        int limit) {
    public UsageQuery {
        if (offset < 0 || limit < 1) {
            throw new IllegalArgumentException("need offset >= 0 and limit >= 1");
        }
        if (from != null && to != null && !from.isBefore(to)) {
            throw new IllegalArgumentException("from must be before to");
        }
    }
}

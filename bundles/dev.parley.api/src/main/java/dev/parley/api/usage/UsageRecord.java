package dev.parley.api.usage;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The usage of one model request.
 *
 * @param id               unique id of this record
 * @param createdAt        when the request was accepted
 * @param tenantId         the tenant that asked; null until identities exist
 * @param userId           the user or API key that asked; null until identities exist
 * @param endpoint         how the request came: {@code turn} (a conversation turn, through REST or the WebSocket) or
 *                         {@code completion} (a stateless completion: the OpenAI- or Anthropic-compatible API); the
 *                         front end itself will be named once requests carry a context of their own
 * @param conversationId   the conversation of a turn; null for a stateless completion
 * @param messageId        the stored answer of a turn; null for a stateless completion
 * @param requestedModel   what the client asked for: an alias, a model id or {@code providerId/model}; null when it
 *                         named none (the default was used)
 * @param providerId       the provider that answered (or was answering when the request failed); null if none did
 * @param model            the model that answered, as its provider names it; null if none did
 * @param outcome          how the request ended
 * @param errorCode        why it failed (an {@link dev.parley.api.error.ErrorCode} slug), else null
 * @param attempts         every try, in order; the last one answered unless the request failed
 * @param costUsd          the cost from the price table, null when the model has no price
 * @param latencyMs        from accepting the request to its end
 * @param timeToFirstTokenMs from accepting the request to the first token; null if none came
 * @param cut              the stream ended (cancelled, failed, client gone) after an answer began to arrive and before
 *                         the provider reported its usage: the tokens are what Parley counted of what arrived (the
 *                         prompt's estimate and about four characters per answer token), as the caller's budgets
 *                         counted them, and the cost is priced from them (since 2.1)
 */
public record UsageRecord(String id, Instant createdAt, String tenantId, String userId, String endpoint,
        String conversationId, String messageId, String requestedModel, String providerId, String model,
        UsageOutcome outcome, String errorCode, List<UsageAttempt> attempts, int promptTokens, int completionTokens,
        int cachedPromptTokens, BigDecimal costUsd, long latencyMs, Long timeToFirstTokenMs, boolean cut) {
    public UsageRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(outcome, "outcome");
        attempts = attempts == null ? List.of() : List.copyOf(attempts);
        if (promptTokens < 0 || completionTokens < 0 || cachedPromptTokens < 0 || latencyMs < 0) {
            throw new IllegalArgumentException("token counts and latency must not be negative");
        }
    }

    /** A record of a request whose usage the provider reported (not {@link #cut()}). */
    public UsageRecord(String id, Instant createdAt, String tenantId, String userId, String endpoint,
            String conversationId, String messageId, String requestedModel, String providerId, String model,
            UsageOutcome outcome, String errorCode, List<UsageAttempt> attempts, int promptTokens, int completionTokens,
            int cachedPromptTokens, BigDecimal costUsd, long latencyMs, Long timeToFirstTokenMs) {
        this(id, createdAt, tenantId, userId, endpoint, conversationId, messageId, requestedModel, providerId, model,
                outcome, errorCode, attempts, promptTokens, completionTokens, cachedPromptTokens, costUsd, latencyMs,
                timeToFirstTokenMs, false);
    }
}

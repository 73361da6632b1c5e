package dev.parley.web.rest.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.parley.api.chat.AnswerRoute;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.Usage;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * Request and response bodies of the native API (camelCase), mapped explicitly from the API records so the
 * API bundle stays free of Jackson.
 */
final class RestBodies {
    private RestBodies() {
    }

    record NewConversationBody(String title, String model, String systemPrompt) {
    }

    record SendMessageBody(String content, String model, Double temperature, Integer maxTokens) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ConversationBody(String id, String title, String model, String systemPrompt, Instant createdAt,
            Instant updatedAt) {
        static ConversationBody of(Conversation c) {
            return new ConversationBody(c.id(), c.title(), c.model(), c.systemPrompt(), c.createdAt(), c.updatedAt());
        }
    }

    record ConversationPage(List<ConversationBody> items, int offset, int limit, long total) {
        static ConversationPage of(Page<Conversation> page) {
            return new ConversationPage(page.items().stream().map(ConversationBody::of).toList(), page.offset(),
                    page.limit(), page.total());
        }
    }

    record UsageBody(int promptTokens, int completionTokens, int totalTokens) {
        static UsageBody of(Usage u) {
            return u == null ? null : new UsageBody(u.promptTokens(), u.completionTokens(), u.totalTokens());
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record MessageBody(String id, String conversationId, long seq, String role, String content, String status,
            String model, UsageBody usage, String error, Long latencyMs, Long timeToFirstTokenMs, Instant createdAt) {
        static MessageBody of(StoredMessage m) {
            return m == null ? null
                    : new MessageBody(m.id(), m.conversationId(), m.seq(), lower(m.role()), m.content(),
                            lower(m.status()), m.model(), UsageBody.of(m.usage()), m.error(), m.latencyMs(),
                            m.timeToFirstTokenMs(), m.createdAt());
        }
    }

    record MessageList(List<MessageBody> items) {
    }

    record ModelBody(String id, String provider, String displayName, int contextWindow, int maxOutputTokens) {
        static ModelBody of(ModelDescriptor m) {
            return new ModelBody(m.id(), m.providerId(), m.displayName(), m.contextWindow(), m.maxOutputTokens());
        }
    }

    record ModelList(List<ModelBody> items) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record TurnAnswer(MessageBody userMessage, MessageBody answer, String finishReason, RouteBody route) {
    }

    /** Who answered a turn and what it cost. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record RouteBody(String requested, String provider, String model, int attempts, BigDecimal costUsd) {
        static RouteBody of(AnswerRoute r) {
            return r == null ? null : new RouteBody(r.requested(), r.providerId(), r.model(), r.attempts(), r.costUsd());
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record AcceptedEvent(MessageBody userMessage, String answerId, String model) {
    }

    /** Which provider and model answer the turn; sent before the first token or tool call piece. */
    record AnsweringEvent(String provider, String model) {
    }

    /** A piece of a tool call: {@code callId} and {@code name} on a call's first piece only. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ToolCallEvent(int index, String callId, String name, String argumentsDelta) {
    }

    /** A resumed stream ended without its producer: the partial answer as stored, and why. */
    record InterruptedEvent(MessageBody answer, String code, String detail) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record DoneEvent(MessageBody answer, String finishReason, RouteBody route) {
    }

    /** RFC 9457 problem details. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Problem(String type, String title, int status, String detail, String code, Long retryAfterSeconds) {
    }

    record Health(String status, List<HealthCheckBody> checks) {
    }

    record HealthCheckBody(String name, String status, String message) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Live(String status) {
    }

    static String lower(Enum<?> e) {
        return e == null ? null : e.name().toLowerCase(Locale.ROOT);
    }

    static String finishReason(FinishReason reason) {
        return lower(reason == null ? FinishReason.STOP : reason);
    }
}

package dev.parley.web.ws.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.parley.api.chat.AnswerRoute;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Writes the server-to-client frames of the chat WebSocket (see the wire format), one JSON object each. */
final class ServerFrames {
    private final ObjectMapper mapper;

    ServerFrames(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** The mapper the socket uses: ISO-8601 timestamps, null fields left out, modules registered explicitly. */
    static ObjectMapper newMapper() {
        var mapper = new ObjectMapper();
        mapper.registerModule(new JavaTimeModule());
        mapper.disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        mapper.setSerializationInclusion(JsonInclude.Include.NON_NULL);
        return mapper;
    }

    String accepted(String id, long seq, StoredMessage userMessage, String answerId, String model) {
        return write(new Accepted("accepted", id, seq, userMessage.conversationId(), userMessage.id(), answerId, model));
    }

    /** The frame sent per token: built from escaped strings, not through an object tree (the chat hot path, ADR 7). */
    String token(String id, long seq, String delta) {
        JsonStringEncoder json = JsonStringEncoder.getInstance();
        StringBuilder frame = new StringBuilder(32 + delta.length() + (id == null ? 0 : id.length()));
        frame.append("{\"type\":\"token\"");
        if (id != null) {
            frame.append(",\"id\":\"");
            json.quoteAsString(id, frame);
            frame.append('"');
        }
        frame.append(",\"seq\":").append(seq);
        frame.append(",\"delta\":\"");
        json.quoteAsString(delta, frame);
        return frame.append("\"}").toString();
    }

    /** Which provider and model answer the turn; sent before its first token or tool call piece. */
    String answering(String id, long seq, String provider, String model) {
        return write(new Answering("answering", id, seq, provider, model));
    }

    /** A piece of a tool call: {@code callId} and {@code name} on the call's first piece only. */
    String toolCall(String id, long seq, ToolCallDelta d) {
        return write(new ToolCallFrame("tool_call", id, seq, d.index(), d.id(), d.name(), d.argumentsDelta()));
    }

    /** A resumed answer whose producing node is gone: the partial answer as stored, and why. */
    String interrupted(String id, long seq, StoredMessage partial, ParleyException reason) {
        return write(new Interrupted("interrupted", id, seq, MessageJson.of(partial), reason.code().slug(),
                reason.getMessage()));
    }

    String done(String id, long seq, TurnResult result) {
        StoredMessage answer = result.answer();
        Usage usage = answer.usage() == null ? Usage.ZERO : answer.usage();
        return write(new Done("done", id, seq, MessageJson.of(answer),
                result.finishReason() == null ? null : result.finishReason().name().toLowerCase(Locale.ROOT),
                UsageJson.of(usage), millis(result.latency(), answer.latencyMs()),
                millis(result.timeToFirstToken(), answer.timeToFirstTokenMs()), RouteJson.of(result.route())));
    }

    /** An error that ends a turn's stream: frame {@code seq} of it (null: the request never started a stream). */
    String error(String id, Long seq, ParleyException error) {
        Long retryAfter = error.retryAfter().map(d -> Math.max(1, (d.toMillis() + 999) / 1000)).orElse(null);
        return write(new Error("error", id, seq, error.code().slug(), error.getMessage(), retryAfter));
    }

    String error(String id, ParleyException error) {
        return error(id, null, error);
    }

    String error(String id, ErrorCode code, String message) {
        return write(new Error("error", id, null, code.slug(), message, null));
    }

    String pong(String id) {
        return write(new Pong("pong", id));
    }

    private String write(Object frame) {
        try {
            return mapper.writeValueAsString(frame);
        } catch (JsonProcessingException e) {
            // Only our own records go in here; failing to write one is a bug.
            throw new IllegalStateException("cannot write frame " + frame.getClass().getSimpleName(), e);
        }
    }

    private static Long millis(Duration measured, Long stored) {
        return measured != null ? Long.valueOf(measured.toMillis()) : stored;
    }

    record Accepted(String type, String id, long seq, String conversationId, String userMessageId, String answerId,
            String model) {
    }

    record Answering(String type, String id, long seq, String provider, String model) {
    }

    record ToolCallFrame(String type, String id, long seq, int index, String callId, String name,
            String argumentsDelta) {
    }

    record Interrupted(String type, String id, long seq, MessageJson answer, String code, String message) {
    }

    record Done(String type, String id, long seq, MessageJson answer, String finishReason, UsageJson usage, Long latencyMs,
            Long timeToFirstTokenMs, RouteJson route) {
    }

    /** Who answered the turn and what it cost. */
    record RouteJson(String requested, String provider, String model, int attempts, BigDecimal costUsd) {
        static RouteJson of(AnswerRoute r) {
            return r == null ? null : new RouteJson(r.requested(), r.providerId(), r.model(), r.attempts(), r.costUsd());
        }
    }

    record Error(String type, String id, Long seq, String code, String message, Long retryAfterSeconds) {
    }

    record Pong(String type, String id) {
    }

    record UsageJson(int promptTokens, int completionTokens, int totalTokens) {
        static UsageJson of(Usage usage) {
            return usage == null ? null
                    : new UsageJson(usage.promptTokens(), usage.completionTokens(), usage.totalTokens());
        }
    }

    /** A stored message as the native API shows it. */
    record MessageJson(String id, String conversationId, long seq, String role, String content, String status,
            String model, UsageJson usage, String error, Long latencyMs, Long timeToFirstTokenMs, Instant createdAt) {
        static MessageJson of(StoredMessage m) {
            return new MessageJson(m.id(), m.conversationId(), m.seq(), m.role().name().toLowerCase(Locale.ROOT),
                    m.content(), m.status().name().toLowerCase(Locale.ROOT), m.model(), UsageJson.of(m.usage()),
                    m.error(), m.latencyMs(), m.timeToFirstTokenMs(), m.createdAt());
        }
    }
}

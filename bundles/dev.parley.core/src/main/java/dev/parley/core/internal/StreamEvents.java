package dev.parley.core.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.parley.api.chat.AnswerRoute;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCallDelta;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * How core writes a turn's events into the stream log, one entry per {@link dev.parley.api.chat.TurnListener} call:
 * a token's entry is the delta itself (the hot path: no encoding); the others are small flat JSON objects.
 */
final class StreamEvents {
    static final String ACCEPTED = "accepted";
    static final String ANSWERING = "answering";
    static final String TOKEN = "token";
    static final String TOOL_CALL = "tool_call";
    static final String DONE = "done";
    static final String ERROR = "error";

    private static final JsonFactory JSON = new JsonFactory();

    private StreamEvents() {
    }

    static String accepted(String userMessageId, String model) {
        return object("user", userMessageId, "model", model);
    }

    static String answering(String providerId, String model) {
        return object("provider", providerId, "model", model);
    }

    static String toolCall(ToolCallDelta d) {
        return object("index", Integer.toString(d.index()), "id", d.id(), "name", d.name(), "args", d.argumentsDelta());
    }

    static ToolCallDelta toolCall(String data) {
        Map<String, String> f = fields(data);
        return new ToolCallDelta(Integer.parseInt(f.get("index")), f.get("id"), f.get("name"), f.get("args"));
    }

    static String done(FinishReason finish, AnswerRoute route) {
        return route == null ? object("finish", finish == null ? null : finish.name())
                : object("finish", finish == null ? null : finish.name(), "requested", route.requested(), "provider",
                        route.providerId(), "model", route.model(), "attempts", Integer.toString(route.attempts()),
                        "cost", route.costUsd() == null ? null : route.costUsd().toPlainString());
    }

    static FinishReason finish(String doneData) {
        String finish = fields(doneData).get("finish");
        return finish == null ? null : FinishReason.valueOf(finish);
    }

    static AnswerRoute route(String doneData) {
        Map<String, String> f = fields(doneData);
        if (f.get("provider") == null) {
            return null;
        }
        return new AnswerRoute(f.get("requested"), f.get("provider"), f.get("model"),
                Integer.parseInt(f.get("attempts")), f.get("cost") == null ? null : new BigDecimal(f.get("cost")));
    }

    static String error(ParleyException e) {
        return object("code", e.code().name(), "message", e.getMessage(), "retryAfterMs",
                e.retryAfter().map(d -> Long.toString(d.toMillis())).orElse(null));
    }

    static ParleyException error(String data) {
        Map<String, String> f = fields(data);
        ErrorCode code;
        try {
            code = ErrorCode.valueOf(f.get("code"));
        } catch (RuntimeException e) {
            code = ErrorCode.INTERNAL;
        }
        String retry = f.get("retryAfterMs");
        return new ParleyException(code, f.get("message"), retry == null ? null : Duration.ofMillis(Long.parseLong(retry)),
                null);
    }

    static String field(String data, String name) {
        return fields(data).get(name);
    }

    /** A flat JSON object of string fields; null values are left out. */
    private static String object(String... namesAndValues) {
        StringWriter out = new StringWriter(64);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            for (int i = 0; i < namesAndValues.length; i += 2) {
                if (namesAndValues[i + 1] != null) {
                    g.writeStringField(namesAndValues[i], namesAndValues[i + 1]);
                }
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static Map<String, String> fields(String data) {
        Map<String, String> fields = new HashMap<>();
        try (JsonParser p = JSON.createParser(data)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not an object: " + data);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                fields.put(name, p.getValueAsString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return fields;
    }
}

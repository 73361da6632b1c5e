package dev.parley.provider.azure.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.core.http.Headers;
import com.openai.errors.OpenAIInvalidDataException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.SseException;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;

/**
 * Maps what the SDK reports (Azure's HTTP errors, error events inside a stream, transport failures, JSON it could not
 * read) into Parley's error model. Azure's error bodies are documented in the Azure OpenAI REST reference ("Error
 * response": {@code {"error": {"code", "message", "param", "type", "innererror": {"code", "content_filter_result"}}}})
 * and in "Azure OpenAI quotas and limits" (429 with {@code retry-after} / {@code retry-after-ms}).
 *
 * <p>Messages are safe to show: they name the status, Azure's error code and (shortened) message, never a header.
 */
final class AzureErrors {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_MESSAGE = 400;

    private AzureErrors() {
    }

    static ParleyException map(Throwable error, String model) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (t instanceof ParleyException pe) {
                return pe;
            }
            if (t instanceof SseException sse) {
                return fromStreamError(sse);
            }
            if (t instanceof OpenAIServiceException http) {
                return fromStatus(http.statusCode(), body(http), http.headers(), model, http);
            }
            if (t instanceof OpenAIInvalidDataException || t instanceof JacksonException) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "Azure OpenAI sent something that is not valid for its protocol (unreadable JSON)", t);
            }
            if (t instanceof CancellationException) {
                return new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled", t);
            }
            if (t instanceof InterruptedIOException) { // SocketTimeoutException included: connect and read timeouts
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Azure OpenAI did not answer in time", t);
            }
            if (t instanceof ConnectException || t instanceof UnknownHostException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot connect to Azure OpenAI", t);
            }
        }
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof IOException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the connection to Azure OpenAI broke before the answer was complete", t);
            }
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the Azure OpenAI call failed: " + error.getClass().getSimpleName(), error);
    }

    /** An {@code error} object inside a 200 stream (the SDK's SseException). */
    private static ParleyException fromStreamError(SseException e) {
        JsonNode err = body(e);
        String code = err.path("code").asText("");
        String message = shorten(err.path("message").asText("(no message)"));
        return switch (code) {
            case "content_filter" -> new ParleyException(ErrorCode.CONTENT_FILTERED,
                    "Azure OpenAI's content filter stopped the answer: " + message, e);
            case "rate_limit_exceeded", "429" -> new ParleyException(ErrorCode.RATE_LIMITED,
                    "Azure OpenAI is rate limiting: " + message, null, e);
            case "context_length_exceeded" -> new ParleyException(ErrorCode.CONTEXT_TOO_LONG, message, e);
            default -> new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "Azure OpenAI failed in the middle of the answer: " + message, e);
        };
    }

    static ParleyException fromStatus(int status, JsonNode error, Headers headers, String model, Throwable cause) {
        String code = error.path("code").asText("");
        String innerCode = error.path("innererror").path("code").asText("");
        String message = shorten(error.path("message").asText("(no message)"));
        if ("content_filter".equals(code) || "ResponsibleAIPolicyViolation".equals(innerCode)) {
            return new ParleyException(ErrorCode.CONTENT_FILTERED, "Azure OpenAI's content filter refused the prompt"
                    + filteredCategories(error.path("innererror").path("content_filter_result")), cause);
        }
        if ("context_length_exceeded".equals(code)) {
            return new ParleyException(ErrorCode.CONTEXT_TOO_LONG, "the prompt does not fit the model: " + message,
                    cause);
        }
        return switch (status) {
            // Azure's 401 message says nothing of the key, but keep it out anyway: say what to check.
            case 401 -> new ParleyException(ErrorCode.PROVIDER_AUTH, "Azure OpenAI rejected the credentials (HTTP 401"
                    + (code.isEmpty() ? "" : ", " + code) + ") — check the api-key or the Entra ID token", cause);
            case 403 -> new ParleyException(ErrorCode.PROVIDER_PERMISSION, "Azure OpenAI refused the request (HTTP 403"
                    + (code.isEmpty() ? "" : ", " + code) + "): " + message, cause);
            case 404 -> new ParleyException(ErrorCode.MODEL_NOT_FOUND, "Azure OpenAI has no deployment for model '"
                    + model + "' (HTTP 404" + (code.isEmpty() ? "" : ", " + code) + "): " + message, cause);
            case 408 -> new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Azure OpenAI timed out: " + message, cause);
            case 429 -> new ParleyException(ErrorCode.RATE_LIMITED, "Azure OpenAI is rate limiting: " + message,
                    retryAfter(headers), cause);
            case 503 -> new ParleyException(ErrorCode.OVERLOADED, "Azure OpenAI is overloaded: " + message,
                    retryAfter(headers), cause);
            case 504 -> new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Azure OpenAI timed out (HTTP 504): " + message,
                    cause);
            default -> status >= 400 && status < 500
                    ? new ParleyException(ErrorCode.INVALID_REQUEST, "Azure OpenAI rejected the request (HTTP " + status
                            + (code.isEmpty() ? "" : ", " + code) + "): " + message, cause)
                    : new ParleyException(ErrorCode.UPSTREAM_FAILURE, "Azure OpenAI failed (HTTP " + status + "): "
                            + message, cause);
        };
    }

    /** ", filtered: hate (high), violence (medium)" from a {@code content_filter_result(s)} object. */
    static String filteredCategories(JsonNode result) {
        StringBuilder b = new StringBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> it = result.fields(); it.hasNext();) {
            var e = it.next();
            if (e.getValue().path("filtered").asBoolean(false)) {
                b.append(b.length() == 0 ? "" : ", ").append(e.getKey());
                String severity = e.getValue().path("severity").asText("");
                if (!severity.isEmpty()) {
                    b.append(" (").append(severity).append(')');
                }
            }
        }
        return b.length() == 0 ? "" : " (filtered: " + b + ")";
    }

    /** The {@code error} object of an SDK exception's body (or the body itself), never null. */
    private static JsonNode body(OpenAIServiceException e) {
        try {
            JsonNode node = JSON.valueToTree(e.body());
            if (node == null) {
                return JSON.createObjectNode();
            }
            JsonNode inner = node.path("error");
            return inner.isObject() ? inner : node;
        } catch (RuntimeException unreadable) {
            return JSON.createObjectNode();
        }
    }

    /**
     * Azure sends {@code retry-after-ms} (milliseconds) beside the standard {@code retry-after} (seconds, or an HTTP
     * date by RFC 9110 section 10.2.3); the finer one wins.
     */
    static Duration retryAfter(Headers headers) {
        if (headers == null) {
            return null;
        }
        String ms = first(headers.values("retry-after-ms"));
        if (ms != null) {
            try {
                double v = Double.parseDouble(ms.trim());
                if (v >= 0) {
                    return Duration.ofMillis((long) Math.ceil(v));
                }
            } catch (NumberFormatException ignored) {
                // fall back to retry-after
            }
        }
        String value = first(headers.values("retry-after"));
        if (value == null || value.isBlank()) {
            return null;
        }
        value = value.trim();
        try {
            long seconds = (long) Math.ceil(Double.parseDouble(value));
            return seconds >= 0 ? Duration.ofSeconds(seconds) : null;
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException unparseable) {
                return null;
            }
        }
    }

    private static String first(List<String> values) {
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    static String shorten(String message) {
        return message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) + "…" : message;
    }
}

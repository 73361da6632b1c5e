package dev.parley.provider.gemini.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.exception.HttpException;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps what the Gemini API answers when it fails (a {@code google.rpc.Status}: {@code {"error":{"code","message",
 * "status","details":[...]}}}, documented under "Troubleshooting / API errors") into Parley's error model. Messages
 * name the vendor's status and message, which never carry the key; the key is blanked out all the same.
 */
final class GeminiErrors {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DELAY = Pattern.compile("(\\d+(?:\\.\\d+)?)s");
    private static final Pattern TOKEN_LIMIT = Pattern.compile(
            "exceeds the maximum number of tokens|input token count|too many tokens|context (window|length)|"
                    + "token limit|request payload size exceeds",
            Pattern.CASE_INSENSITIVE);

    private GeminiErrors() {
    }

    /** An HTTP error answer: its status and body (a {@code google.rpc.Status}, or anything a proxy sent). */
    static ParleyException fromHttp(int httpStatus, String body, String apiKey) {
        JsonNode error = null;
        try {
            JsonNode root = body == null || body.isBlank() ? null : JSON.readTree(body);
            if (root != null && root.path("error").isObject()) {
                error = root.path("error");
            } else if (root != null && root.isArray() && root.path(0).path("error").isObject()) {
                error = root.path(0).path("error"); // the non-SSE stream form answers errors inside an array
            }
        } catch (IOException notJson) {
            // keep error null: mapped by the HTTP status alone
        }
        return fromStatus(httpStatus, error, apiKey);
    }

    /**
     * A {@code google.rpc.Status} object (an HTTP error body's {@code error}, or an error event in a stream);
     * {@code httpStatus} is used where the object has no {@code code}.
     */
    static ParleyException fromStatus(int httpStatus, JsonNode error, String apiKey) {
        int code = error != null && error.path("code").isInt() ? error.path("code").asInt() : httpStatus;
        String status = error == null ? "" : error.path("status").asText("");
        String vendorMessage = error == null ? "" : error.path("message").asText("");
        String reason = "";
        Duration retry = null;
        if (error != null) {
            for (JsonNode d : error.path("details")) {
                String type = d.path("@type").asText("");
                if (type.endsWith("google.rpc.ErrorInfo")) {
                    reason = d.path("reason").asText("");
                } else if (type.endsWith("google.rpc.RetryInfo")) {
                    retry = parseDelay(d.path("retryDelay").asText(null));
                }
            }
        }
        String text = "Gemini answered " + code + (status.isEmpty() ? "" : " " + status)
                + (vendorMessage.isEmpty() ? "" : ": " + vendorMessage);
        text = scrub(text, apiKey);
        ErrorCode mapped = classify(code, status, reason, vendorMessage);
        return new ParleyException(mapped, text, retry, null);
    }

    private static ErrorCode classify(int code, String status, String reason, String message) {
        String m = message.toLowerCase(Locale.ROOT);
        if ("API_KEY_INVALID".equals(reason) || code == 401 || "UNAUTHENTICATED".equals(status)
                || m.contains("api key not valid") || m.contains("api key expired")
                || m.contains("unregistered callers")) {
            return ErrorCode.PROVIDER_AUTH;
        }
        if (code == 403 || "PERMISSION_DENIED".equals(status) || "FAILED_PRECONDITION".equals(status)) {
            // FAILED_PRECONDITION: e.g. the free tier is not offered in the caller's region; billing must be enabled.
            return ErrorCode.PROVIDER_PERMISSION;
        }
        if (code == 429 || "RESOURCE_EXHAUSTED".equals(status)) {
            return ErrorCode.RATE_LIMITED;
        }
        if (code == 404 || "NOT_FOUND".equals(status)) {
            return ErrorCode.MODEL_NOT_FOUND;
        }
        if (code == 503 || "UNAVAILABLE".equals(status)) {
            return ErrorCode.OVERLOADED;
        }
        if (code == 504 || "DEADLINE_EXCEEDED".equals(status)) {
            return ErrorCode.UPSTREAM_TIMEOUT;
        }
        if (code == 413 || (code == 400 || "INVALID_ARGUMENT".equals(status)) && TOKEN_LIMIT.matcher(message).find()) {
            return ErrorCode.CONTEXT_TOO_LONG;
        }
        if (code >= 500) {
            return ErrorCode.UPSTREAM_FAILURE;
        }
        if (code >= 400) {
            return ErrorCode.INVALID_REQUEST;
        }
        return ErrorCode.UPSTREAM_PROTOCOL;
    }

    /** {@code google.protobuf.Duration} in JSON: seconds with an {@code s} suffix, e.g. {@code "20s"}, {@code "1.5s"}. */
    static Duration parseDelay(String text) {
        if (text == null) {
            return null;
        }
        Matcher m = DELAY.matcher(text.trim());
        if (!m.matches()) {
            return null;
        }
        return Duration.ofNanos(Math.round(Double.parseDouble(m.group(1)) * 1_000_000_000d));
    }

    /**
     * Anything else that ended a call: what the HTTP client, langchain4j or a mapping threw. An {@link HttpException}
     * anywhere in the chain is the vendor's answer.
     */
    static ParleyException fromThrowable(Throwable t, String apiKey) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ParleyException p) {
                return p;
            }
            if (c instanceof HttpException h) {
                return fromHttp(h.statusCode(), h.getMessage(), apiKey);
            }
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof HttpConnectTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Gemini: connecting timed out", t);
            }
            if (c instanceof HttpTimeoutException || c instanceof dev.langchain4j.exception.TimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Gemini did not answer in time", t);
            }
            if (c instanceof ConnectException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "Gemini: cannot connect", t);
            }
            if (c instanceof IOException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "Gemini: the connection failed before the answer finished", t);
            }
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                scrub("Gemini call failed: " + t.getClass().getSimpleName(), apiKey), t);
    }

    static String scrub(String text, String apiKey) {
        return apiKey == null || apiKey.isEmpty() ? text : text.replace(apiKey, "***");
    }
}

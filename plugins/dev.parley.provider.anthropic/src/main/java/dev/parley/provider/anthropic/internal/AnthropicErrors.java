package dev.parley.provider.anthropic.internal;

import com.anthropic.core.JsonValue;
import com.anthropic.core.http.Headers;
import com.anthropic.errors.AnthropicInvalidDataException;
import com.anthropic.errors.AnthropicIoException;
import com.anthropic.errors.AnthropicServiceException;
import com.anthropic.errors.SseException;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Maps what the SDK throws into Parley's error model. The SDK's typed exceptions keep the HTTP status, the response
 * headers and the parsed error body ({@code {"type":"error","error":{"type":...,"message":...}}}), so the vendor's
 * error type decides first (it is the same in a response body and in a mid-stream {@code error} event), the status
 * second. Messages are safe to show: they carry the vendor's message, never the key.
 */
final class AnthropicErrors {

    private static final int MAX_MESSAGE = 300;

    private AnthropicErrors() {
    }

    static ParleyException map(Throwable error, String model) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (t instanceof ParleyException pe) {
                return pe;
            }
            if (t instanceof AnthropicServiceException service) {
                return fromService(service, model);
            }
            if (t instanceof AnthropicInvalidDataException) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "Anthropic sent an event or body that is not valid for the Messages API", t);
            }
            if (t instanceof HttpConnectTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "timed out connecting to Anthropic", t);
            }
            if (t instanceof HttpTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Anthropic did not answer in time", t);
            }
            if (t instanceof ConnectException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot connect to Anthropic", t);
            }
            if (t instanceof InterruptedIOException) {
                return new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled", t);
            }
        }
        if (error instanceof AnthropicIoException || error instanceof java.io.UncheckedIOException
                || error instanceof java.io.IOException) {
            return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "the connection to Anthropic broke before the answer was complete", error);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the Anthropic call failed: " + error.getClass().getSimpleName(), error);
    }

    private static ParleyException fromService(AnthropicServiceException e, String model) {
        String type = field(e.body(), "type");
        String message = shorten(field(e.body(), "message"));
        int status = e.statusCode();
        boolean midStream = e instanceof SseException;
        String where = midStream ? "Anthropic failed in the middle of the answer" : "Anthropic answered HTTP " + status;
        if (type == null) {
            type = switch (status) {
                case 400 -> "invalid_request_error";
                case 401 -> "authentication_error";
                case 403 -> "permission_error";
                case 404 -> "not_found_error";
                case 408, 504 -> "timeout_error";
                case 413 -> "request_too_large";
                case 429 -> "rate_limit_error";
                case 529 -> "overloaded_error";
                default -> status >= 500 ? "api_error" : "invalid_request_error";
            };
        }
        String detail = message == null ? "" : ": " + message;
        return switch (type) {
            case "authentication_error" -> new ParleyException(ErrorCode.PROVIDER_AUTH,
                    "Anthropic rejected the API key (" + where + ", authentication_error) — check the provider's "
                            + ".apiKey", e);
            case "permission_error", "billing_error" -> new ParleyException(ErrorCode.PROVIDER_PERMISSION,
                    "the API key may not do this (" + type + ")" + detail, e);
            case "not_found_error" -> new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "Anthropic does not know model '" + model + "' or the key has no access to it" + detail, e);
            case "rate_limit_error" -> new ParleyException(ErrorCode.RATE_LIMITED,
                    "Anthropic is rate limiting" + detail, retryAfter(e.headers()), e);
            case "overloaded_error" -> new ParleyException(ErrorCode.OVERLOADED,
                    "Anthropic is overloaded" + detail, retryAfter(e.headers()), e);
            case "timeout_error" -> new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "Anthropic timed out" + detail, e);
            case "request_too_large" -> new ParleyException(ErrorCode.INVALID_REQUEST,
                    "the request is larger than Anthropic accepts (request_too_large)" + detail, e);
            case "invalid_request_error" -> contextTooLong(message)
                    ? new ParleyException(ErrorCode.CONTEXT_TOO_LONG,
                            "the prompt and the answer asked for do not fit the model's context window" + detail, e)
                    : new ParleyException(ErrorCode.INVALID_REQUEST, "Anthropic rejected the request" + detail, e);
            default -> new ParleyException(ErrorCode.UPSTREAM_FAILURE, where + " (" + type + ")" + detail, e);
        };
    }

    /** The Messages API says so in the message of an invalid_request_error ("prompt is too long: …"). */
    static boolean contextTooLong(String message) {
        if (message == null) {
            return false;
        }
        String m = message.toLowerCase(java.util.Locale.ROOT);
        return m.contains("prompt is too long") || m.contains("exceed context limit")
                || m.contains("context window") || m.contains("too many tokens");
    }

    /** {@code error.<name>} of an error body, as text. */
    private static String field(JsonValue body, String name) {
        try {
            Optional<Map<String, JsonValue>> root = body.asObject();
            if (root.isEmpty() || root.get().get("error") == null) {
                return null;
            }
            Optional<Map<String, JsonValue>> err = root.get().get("error").asObject();
            if (err.isEmpty() || err.get().get(name) == null) {
                return null;
            }
            Object v = err.get().get(name).asString().orElse(null);
            return v == null ? null : v.toString();
        } catch (RuntimeException notAnObject) {
            return null;
        }
    }

    private static String shorten(String s) {
        if (s == null) {
            return null;
        }
        return s.length() > MAX_MESSAGE ? s.substring(0, MAX_MESSAGE) + "…" : s;
    }

    /**
     * The vendor's retry hint: {@code retry-after} (seconds, or an HTTP date), else the earliest of the
     * {@code anthropic-ratelimit-*-reset} timestamps (RFC 3339) that is in the future.
     */
    static Duration retryAfter(Headers headers) {
        String value = first(headers, "retry-after");
        if (value != null) {
            try {
                long seconds = (long) Math.ceil(Double.parseDouble(value.trim()));
                if (seconds >= 0) {
                    return Duration.ofSeconds(seconds);
                }
            } catch (NumberFormatException notSeconds) {
                try {
                    ZonedDateTime at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
                    Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
                    return d.isNegative() ? Duration.ZERO : d;
                } catch (RuntimeException unparseable) {
                    // fall through to the rate-limit headers
                }
            }
        }
        Duration earliest = null;
        for (String name : new String[] {"anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset",
                "anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-output-tokens-reset"}) {
            String reset = first(headers, name);
            if (reset == null) {
                continue;
            }
            try {
                Duration d = Duration.between(OffsetDateTime.now(), OffsetDateTime.parse(reset.trim()));
                if (!d.isNegative() && (earliest == null || d.compareTo(earliest) < 0)) {
                    earliest = d;
                }
            } catch (RuntimeException unparseable) {
                // ignore this header
            }
        }
        return earliest;
    }

    private static String first(Headers headers, String name) {
        for (String n : headers.names()) {
            if (n.equalsIgnoreCase(name)) {
                var values = headers.values(n);
                return values.isEmpty() ? null : values.get(0);
            }
        }
        return null;
    }
}

package dev.parley.provider.mistral.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Maps whatever Mistral, the transport or the client library reports into Parley's one error model. Every message is
 * safe to show to a user: upstream text is shortened, and never quoted for 401/403 (it may echo part of the key).
 *
 * <p>Error shapes, as Mistral's API answers them (docs.mistral.ai "Error glossary" and the API reference):
 * <ul>
 *   <li>{@code {"object":"error","message":"…","type":"…","param":null,"code":"…"}} — most 4xx/5xx, e.g. 429
 *       {@code "type":"rate_limited","code":"1300"} and {@code "type":"service_tier_capacity_exceeded","code":"3505"};</li>
 *   <li>{@code {"object":"error","message":{"detail":[{"loc":[…],"msg":"…","type":"…"}]},"type":"invalid_request_error"}}
 *       and a bare FastAPI {@code {"detail":[…]}} — 422 validation errors;</li>
 *   <li>{@code {"message":"Unauthorized","request_id":"…"}} — the gateway's 401.</li>
 * </ul>
 */
final class MistralErrors {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_MESSAGE = 300;
    private static final Pattern CONTEXT_TOO_LONG = Pattern.compile(
            "(?i)(too large for model|maximum context length|context length|context window|prompt is too long"
                    + "|exceeds the model's)");
    private static final Pattern INVALID_MODEL = Pattern.compile("(?i)(invalid model|model .*not found|unknown model)");

    private MistralErrors() {
    }

    static ParleyException map(Throwable error, String model) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (t instanceof ParleyException pe) {
                return pe;
            }
            if (t instanceof UpstreamHttpException http) {
                return fromStatus(http.statusCode(), http.body(), retryAfter(http), model, http);
            }
            if (t instanceof UpstreamStreamException s) {
                return fromStream(s, model);
            }
            if (t instanceof HttpConnectTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "timed out connecting to Mistral", t);
            }
            if (t instanceof HttpTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Mistral did not answer in time", t);
            }
            if (t instanceof ConnectException || t instanceof UnresolvedAddressException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot connect to Mistral", t);
            }
            if (t instanceof JacksonException) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Mistral sent an answer that is not valid JSON",
                        t);
            }
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the call to Mistral failed: " + error.getClass().getSimpleName(), error);
    }

    private static ParleyException fromStream(UpstreamStreamException s, String model) {
        return switch (s.kind()) {
            case CUT -> new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "the connection to Mistral broke before the answer was complete", s);
            case TOO_LARGE -> new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, s.getMessage(), s);
            case MALFORMED -> new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "Mistral sent an event that is not a chat-completion chunk", s);
            case ERROR_EVENT -> fromErrorEvent(s, model);
        };
    }

    /** An error object in a 200 stream: its status (raw_status_code, or a 3-digit code) decides, else its type. */
    private static ParleyException fromErrorEvent(UpstreamStreamException s, String model) {
        JsonNode root = parse(s.data());
        int status = root.path("raw_status_code").asInt(0);
        String code = text(root.path("code"));
        if (status == 0 && code != null && code.matches("[45]\\d\\d")) {
            status = Integer.parseInt(code);
        }
        if (status >= 400) {
            return fromStatus(status, s.data(), null, model, s);
        }
        String type = text(root.path("type"));
        if ("rate_limited".equals(type)) {
            return new ParleyException(ErrorCode.RATE_LIMITED, "Mistral is rate limiting: " + message(root), null, s);
        }
        if ("service_tier_capacity_exceeded".equals(type)) {
            return new ParleyException(ErrorCode.OVERLOADED, "Mistral is overloaded: " + message(root), null, s);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "Mistral failed in the middle of the answer: " + message(root), s);
    }

    static ParleyException fromStatus(int status, String body, Duration retryAfter, String model, Throwable cause) {
        JsonNode root = parse(body);
        String message = message(root);
        String type = text(root.path("type"));
        String code = text(root.path("code"));
        if (status == 401) {
            return new ParleyException(ErrorCode.PROVIDER_AUTH,
                    "Mistral rejected the API key (HTTP 401): check the provider's .apiKey", cause);
        }
        if (status == 403) {
            return new ParleyException(ErrorCode.PROVIDER_PERMISSION,
                    "Mistral refused this request for the API key (HTTP 403): the key may not use model '" + model
                            + "' or this endpoint", cause);
        }
        if (status == 404) {
            return new ParleyException(ErrorCode.MODEL_NOT_FOUND, "Mistral does not know model '" + model + "': "
                    + message, cause);
        }
        if (status == 408 || status == 504) {
            return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Mistral timed out (HTTP " + status + "): "
                    + message, cause);
        }
        if (status == 429) {
            if ("service_tier_capacity_exceeded".equals(type) || "3505".equals(code)
                    || message.toLowerCase(Locale.ROOT).contains("capacity")) {
                return new ParleyException(ErrorCode.OVERLOADED, "Mistral is overloaded: " + message, retryAfter,
                        cause);
            }
            return new ParleyException(ErrorCode.RATE_LIMITED, "Mistral is rate limiting: " + message, retryAfter,
                    cause);
        }
        if (status == 503 || status == 529) {
            return new ParleyException(ErrorCode.OVERLOADED, "Mistral is unavailable or overloaded (HTTP " + status
                    + "): " + message, retryAfter, cause);
        }
        if (status >= 400 && status < 500) {
            if (CONTEXT_TOO_LONG.matcher(message).find()) {
                return new ParleyException(ErrorCode.CONTEXT_TOO_LONG, "the prompt does not fit model '" + model
                        + "': " + message, cause);
            }
            if (INVALID_MODEL.matcher(message).find() || "1500".equals(code)) {
                return new ParleyException(ErrorCode.MODEL_NOT_FOUND, "Mistral does not know model '" + model
                        + "': " + message, cause);
            }
            return new ParleyException(ErrorCode.INVALID_REQUEST, "Mistral rejected the request (HTTP " + status
                    + "): " + message, cause);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "Mistral failed (HTTP " + status + "): " + message,
                cause);
    }

    /** Whether an event's data is one of Mistral's error objects rather than a chunk. */
    static boolean isErrorObject(String data) {
        JsonNode root = parse(data);
        return root.isObject() && !root.has("choices")
                && ("error".equals(text(root.path("object"))) || root.has("error") || root.has("message")
                        || root.has("detail"));
    }

    /** The human part of an error body: its message, a 422's validation details, or the shortened body. */
    static String message(JsonNode root) {
        if (root.isMissingNode() || root.isNull()) {
            return "(no message)";
        }
        JsonNode m = root.has("error") && root.get("error").isObject() ? root.get("error").path("message")
                : root.path("message");
        String detail = details(m.isObject() ? m.path("detail") : root.path("detail"));
        if (detail != null) {
            return shorten(detail);
        }
        if (m.isTextual()) {
            return shorten(m.asText());
        }
        return root.isTextual() ? shorten(root.asText()) : shorten(root.toString());
    }

    /** FastAPI validation errors: "body.messages.0.content: Field required; …". */
    private static String details(JsonNode detail) {
        if (detail.isTextual()) {
            return detail.asText();
        }
        if (!detail.isArray() || detail.isEmpty()) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        for (JsonNode d : detail) {
            if (b.length() > 0) {
                b.append("; ");
            }
            StringBuilder loc = new StringBuilder();
            for (JsonNode l : d.path("loc")) {
                if (loc.length() > 0) {
                    loc.append('.');
                }
                loc.append(l.asText());
            }
            if (loc.length() > 0) {
                b.append(loc).append(": ");
            }
            b.append(d.path("msg").asText("invalid"));
        }
        return b.toString();
    }

    private static JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
        try {
            return JSON.readTree(body);
        } catch (JacksonException notJson) {
            return JSON.getNodeFactory().textNode(body);
        }
    }

    private static String text(JsonNode n) {
        return n.isValueNode() && !n.isNull() ? n.asText() : null;
    }

    private static String shorten(String s) {
        return s.length() > MAX_MESSAGE ? s.substring(0, MAX_MESSAGE) + "…" : s;
    }

    /** Retry-After (delay-seconds or an HTTP date, RFC 9110 section 10.2.3), else Mistral's ratelimitbysize-reset. */
    static Duration retryAfter(UpstreamHttpException http) {
        Duration d = parseRetryAfter(http.header("retry-after"));
        return d != null ? d : parseRetryAfter(http.header("ratelimitbysize-reset"));
    }

    static Duration parseRetryAfter(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String v = value.trim();
        try {
            long seconds = (long) Math.ceil(Double.parseDouble(v));
            return seconds >= 0 ? Duration.ofSeconds(seconds) : null;
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException unparseable) {
                return null;
            }
        }
    }
}

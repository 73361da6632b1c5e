package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.IdentityHashMap;
import java.util.Map;

/** Maps whatever upstream or the transport reports into Parley's one error model. */
final class UpstreamErrors {

    /** Only for the rare error body; the hot path uses the provider's own factory. */
    private static final JsonFactory JSON = new JsonFactory();
    private static final int MAX_UPSTREAM_MESSAGE = 500;

    private UpstreamErrors() {
    }

    static ParleyException map(Throwable error, String model) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (t instanceof ParleyException pe) {
                return pe;
            }
            if (t instanceof UpstreamHttpException http) {
                return fromStatus(http.statusCode(), http.body(), http, model);
            }
            if (t instanceof UpstreamStreamError stream) {
                return fromStream(stream, model);
            }
            if (t instanceof UpstreamProtocolException protocol) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the model server sent " + protocol.getMessage(), t);
            }
            if (t instanceof HttpConnectTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "timed out connecting to the model server", t);
            }
            if (t instanceof HttpTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model server did not answer in time", t);
            }
            if (t instanceof ConnectException || t instanceof UnresolvedAddressException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot connect to the model server", t);
            }
            if (t instanceof StreamEndedEarlyException) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the model server ended the answer without finishing it ([DONE] missing)", t);
            }
            if (t instanceof JacksonException) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the model server sent a chunk that is not valid JSON", t);
            }
        }
        // Checked after the loop so that a more specific cause (refused, timed out) inside it wins.
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof UpstreamTransportException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the connection to the model server broke before the answer was complete", t);
            }
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the model server call failed: " + error.getClass().getSimpleName(), error);
    }

    /** An error object inside a 200 stream: a numeric code is an HTTP status (vLLM and others send one). */
    private static ParleyException fromStream(UpstreamStreamError e, String model) {
        String code = e.code();
        if (code != null && code.length() == 3 && code.chars().allMatch(Character::isDigit)) {
            int status = Integer.parseInt(code);
            if (status >= 400 && status < 600) {
                return fromStatus(status, shorten(String.valueOf(e.getMessage())), null, null, model, e);
            }
        }
        if ("rate_limit_exceeded".equals(code)) {
            return new ParleyException(ErrorCode.RATE_LIMITED, "the model server is rate limiting: "
                    + shorten(e.getMessage()), null, e);
        }
        ParleyException known = fromCode(code, shorten(String.valueOf(e.getMessage())), e);
        if (known != null) {
            return known;
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE, (e.whole()
                ? "the model server answered with an error: " : "the model server failed in the middle of the answer: ")
                + shorten(e.getMessage()), e);
    }

    private static ParleyException fromStatus(int status, String body, UpstreamHttpException http, String model) {
        return fromStatus(status, upstreamMessage(body), upstreamCode(body), http, model, http);
    }

    /** OpenAI's {@code error.code}s that name a class of their own, whatever the status. */
    private static ParleyException fromCode(String code, String upstream, Throwable cause) {
        if (code == null) {
            return null;
        }
        return switch (code) {
            case "context_length_exceeded", "string_above_max_length" -> new ParleyException(
                    ErrorCode.CONTEXT_TOO_LONG, "the prompt does not fit the model's context: " + upstream, cause);
            case "content_filter", "content_policy_violation" -> new ParleyException(ErrorCode.CONTENT_FILTERED,
                    "the model server's content filter refused the request: " + upstream, cause);
            case "overloaded", "engine_overloaded" -> new ParleyException(ErrorCode.OVERLOADED,
                    "the model server is overloaded: " + upstream, cause);
            default -> null;
        };
    }

    private static ParleyException fromStatus(int status, String upstream, String code, UpstreamHttpException http,
            String model, Throwable cause) {
        if (status == 403) {
            // Accepted key, refused request (a region, an organisation, a model the key may not use).
            return new ParleyException(ErrorCode.PROVIDER_PERMISSION,
                    "upstream refused this request for the configured API key (HTTP 403): " + upstream, cause);
        }
        ParleyException known = fromCode(code, upstream, cause);
        if (known != null) {
            return known;
        }
        if (status == 503 && upstream.toLowerCase(java.util.Locale.ROOT).contains("overloaded")) {
            return new ParleyException(ErrorCode.OVERLOADED, "the model server is overloaded: " + upstream,
                    http == null ? null : http.retryAfter(), cause);
        }
        if (status == 401) {
            // The upstream message may quote part of the key: leave it out.
            return new ParleyException(ErrorCode.PROVIDER_AUTH,
                    "upstream rejected the API key — check OPENAI_API_KEY (HTTP " + status + ")", cause);
        }
        if (status == 429) {
            return new ParleyException(ErrorCode.RATE_LIMITED, "the model server is rate limiting: " + upstream,
                    http == null ? null : http.retryAfter(), cause);
        }
        if (status == 404) {
            return new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "model '" + model + "' not found upstream: " + upstream, cause);
        }
        if (status == 408) {
            return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model server timed out: " + upstream, cause);
        }
        if (status >= 400 && status < 500) {
            return new ParleyException(ErrorCode.INVALID_REQUEST, "the model server rejected the request: " + upstream,
                    cause);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the model server failed (HTTP " + status + "): " + upstream, cause);
    }

    /** The {@code error.code} of an OpenAI error object (a string), else null. */
    static String upstreamCode(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("error".equals(field) && value == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        if (p.nextToken() == JsonToken.VALUE_STRING && "code".equals(f)) {
                            return p.getText();
                        }
                        p.skipChildren();
                    }
                    return null;
                }
                p.skipChildren();
            }
        } catch (java.io.IOException notJson) {
            return null;
        }
        return null;
    }

    /** The {@code error.message} of an OpenAI error object, else the (shortened) body. */
    static String upstreamMessage(String body) {
        if (body == null || body.isBlank()) {
            return "(no message)";
        }
        String message = body;
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken value = p.nextToken();
                    if (!"error".equals(field)) {
                        p.skipChildren();
                    } else if (value == JsonToken.VALUE_STRING) {
                        message = p.getText();
                    } else if (value == JsonToken.START_OBJECT) {
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String f = p.currentName();
                            if (p.nextToken() == JsonToken.VALUE_STRING && "message".equals(f)) {
                                message = p.getText();
                            } else {
                                p.skipChildren();
                            }
                        }
                    } else {
                        p.skipChildren();
                    }
                }
            }
        } catch (java.io.IOException notJson) {
            message = body; // keep the raw body
        }
        return shorten(message);
    }

    private static String shorten(String message) {
        return message.length() > MAX_UPSTREAM_MESSAGE ? message.substring(0, MAX_UPSTREAM_MESSAGE) + "…" : message;
    }

    /** Retry-After is either delay-seconds or an HTTP date (RFC 9110 section 10.2.3). */
    static Duration retryAfter(HttpHeaders headers) {
        String value = headers.firstValue("retry-after").orElse(null);
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
}

package dev.parley.provider.ollama.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.ollama.OllamaStreamingException;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.IOException;
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
import java.util.concurrent.CancellationException;
import java.util.regex.Pattern;

/**
 * Maps what Ollama, a proxy in front of it, langchain4j or the transport report into Parley's one error model.
 * Ollama's errors are {@code {"error": "<message>"}} with an HTTP status (docs/api.md, "Errors"; docs.ollama.com
 * "Errors"): 400 for a bad request, 404 for a model that is not pulled, 500 for a failure, 503 when its queue is
 * full ({@code OLLAMA_MAX_QUEUE}); while streaming, an {@code {"error": ...}} line after the 200. Ollama itself has
 * no keys and no rate limits: 401, 403 and 429 come from a proxy (or a hosted Ollama) in front of it, whose
 * {@code Retry-After} is kept.
 */
final class OllamaErrors {

    private static final JsonFactory JSON = new JsonFactory();
    private static final int MAX_UPSTREAM_MESSAGE = 500;
    /** How Ollama words "the input does not fit the context window" (embed with truncate=false, newer chat). */
    private static final Pattern CONTEXT_TOO_LONG = Pattern.compile(
            "context (length|window|size)|exceeds? (the )?(maximum )?context|too many tokens|prompt is too long",
            Pattern.CASE_INSENSITIVE);

    private OllamaErrors() {
    }

    /** Maps {@code error}; {@code call} (may be null) gives the model and the failed response's headers. */
    static ParleyException map(Throwable error, UpstreamCall call) {
        String model = call == null ? null : call.model();
        HttpHeaders headers = call == null ? null : call.headers();
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (t instanceof ParleyException pe) {
                return pe;
            }
            if (t instanceof HttpException http) {
                return fromStatus(http.statusCode(), upstreamMessage(http.getMessage()), headers, model, http);
            }
            if (t instanceof OllamaStreamingException streaming) {
                String message = shorten(streaming.getMessage());
                if (CONTEXT_TOO_LONG.matcher(message).find()) {
                    return new ParleyException(ErrorCode.CONTEXT_TOO_LONG,
                            "the prompt does not fit the model's context: " + message, streaming);
                }
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the Ollama server failed in the middle of the answer: " + message, streaming);
            }
            if (t instanceof AnswerTooLargeException tooLarge) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the Ollama server sent more than this provider accepts: " + tooLarge.getMessage(), t);
            }
            if (t instanceof HttpConnectTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "timed out connecting to the Ollama server", t);
            }
            if (t instanceof HttpTimeoutException || t instanceof dev.langchain4j.exception.TimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the Ollama server did not answer in time", t);
            }
            if (t instanceof ConnectException || t instanceof UnresolvedAddressException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot connect to the Ollama server", t);
            }
            if (t instanceof JsonProcessingException) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the Ollama server sent a response that is not a valid JSON object", t);
            }
            if (t instanceof UnsupportedFeatureException unsupported) {
                return new ParleyException(ErrorCode.INVALID_REQUEST,
                        "Ollama cannot do this: " + unsupported.getMessage(), t);
            }
            if (t instanceof CancellationException) {
                return new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled", t);
            }
        }
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof IOException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the connection to the Ollama server broke before the answer was complete", t);
            }
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the call to the Ollama server failed: " + error.getClass().getSimpleName(), error);
    }

    static ParleyException fromStatus(int status, String upstream, HttpHeaders headers, String model,
            Throwable cause) {
        Duration retryAfter = headers == null ? null : retryAfter(headers);
        return switch (status) {
            // The message of a proxy's 401 may quote the token: leave it out.
            case 401 -> new ParleyException(ErrorCode.PROVIDER_AUTH,
                    "the Ollama server (or the proxy in front of it) rejected the bearer token (HTTP 401)", cause);
            case 403 -> new ParleyException(ErrorCode.PROVIDER_PERMISSION,
                    "the Ollama server (or the proxy in front of it) refused this request (HTTP 403): " + upstream,
                    cause);
            case 404 -> new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "model '" + model + "' is not available on the Ollama server: " + upstream, cause);
            case 408 -> new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the Ollama server timed out: " + upstream,
                    cause);
            case 429 -> new ParleyException(ErrorCode.RATE_LIMITED, "the Ollama server is rate limiting: " + upstream,
                    retryAfter, cause);
            case 503 -> new ParleyException(ErrorCode.OVERLOADED, "the Ollama server is busy: " + upstream,
                    retryAfter, cause);
            case 504 -> new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "the gateway in front of the Ollama server timed out: " + upstream, cause);
            default -> {
                if (status >= 400 && status < 500) {
                    if (CONTEXT_TOO_LONG.matcher(upstream).find()) {
                        yield new ParleyException(ErrorCode.CONTEXT_TOO_LONG,
                                "the prompt does not fit the model's context: " + upstream, cause);
                    }
                    yield new ParleyException(ErrorCode.INVALID_REQUEST,
                            "the Ollama server rejected the request (HTTP " + status + "): " + upstream, cause);
                }
                yield new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the Ollama server failed (HTTP " + status + "): " + upstream, cause);
            }
        };
    }

    /** The {@code error} of an Ollama error object ({@code {"error": "..."}}), else the shortened body. */
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
                    if ("error".equals(field) && value == JsonToken.VALUE_STRING) {
                        message = p.getText();
                    } else if ("error".equals(field) && value == JsonToken.START_OBJECT) {
                        // An OpenAI-style proxy: {"error": {"message": "..."}}
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
        } catch (IOException notJson) {
            message = body;
        }
        return shorten(message.strip());
    }

    private static String shorten(String message) {
        if (message == null) {
            return "(no message)";
        }
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

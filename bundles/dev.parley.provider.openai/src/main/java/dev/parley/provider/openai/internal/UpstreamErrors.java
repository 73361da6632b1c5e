package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.exception.HttpException;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.util.IdentityHashMap;
import java.util.Map;

/** Maps whatever langchain4j or the transport reports into Parley's one error model. */
final class UpstreamErrors {

    private static final ObjectMapper JSON = new ObjectMapper();
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
            if (t instanceof HttpException http) {
                return fromStatus(http.statusCode(), http.getMessage(), null, model);
            }
            if (t instanceof HttpConnectTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "timed out connecting to the model server", t);
            }
            if (t instanceof HttpTimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model server did not answer in time", t);
            }
            if (t instanceof dev.langchain4j.exception.TimeoutException) {
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
            if (t instanceof UpstreamHttpClient.TransportException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the connection to the model server broke before the answer was complete", t);
            }
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the model server call failed: " + error.getClass().getSimpleName(), error);
    }

    private static ParleyException fromStatus(int status, String body, UpstreamHttpException http, String model) {
        String upstream = upstreamMessage(body);
        if (status == 401 || status == 403) {
            // The upstream message may quote part of the key: leave it out.
            return new ParleyException(ErrorCode.PROVIDER_AUTH,
                    "upstream rejected the API key — check OPENAI_API_KEY (HTTP " + status + ")", http);
        }
        if (status == 429) {
            return new ParleyException(ErrorCode.RATE_LIMITED, "the model server is rate limiting: " + upstream,
                    http == null ? null : http.retryAfter(), http);
        }
        if (status == 404) {
            return new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "model '" + model + "' not found upstream: " + upstream, http);
        }
        if (status == 408) {
            return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model server timed out: " + upstream, http);
        }
        if (status >= 400 && status < 500) {
            return new ParleyException(ErrorCode.INVALID_REQUEST, "the model server rejected the request: " + upstream,
                    http);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the model server failed (HTTP " + status + "): " + upstream, http);
    }

    /** The {@code error.message} of an OpenAI error object, else the (shortened) body. */
    static String upstreamMessage(String body) {
        if (body == null || body.isBlank()) {
            return "(no message)";
        }
        String message = body;
        try {
            JsonNode node = JSON.readTree(body).path("error");
            if (node.isTextual()) {
                message = node.asText();
            } else if (node.path("message").isTextual()) {
                message = node.path("message").asText();
            }
        } catch (JacksonException notJson) {
            // keep the raw body
        }
        return message.length() > MAX_UPSTREAM_MESSAGE ? message.substring(0, MAX_UPSTREAM_MESSAGE) + "…" : message;
    }
}

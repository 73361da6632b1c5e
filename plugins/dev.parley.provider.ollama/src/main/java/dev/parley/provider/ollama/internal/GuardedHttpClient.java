package dev.parley.provider.ollama.internal;

import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.InputStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Wraps langchain4j's HTTP client to close the gaps langchain4j-ollama 1.18.1 leaves in a stream, which would
 * otherwise leave a Parley handler waiting forever:
 * <ul>
 * <li>a line that is not JSON: langchain4j's NDJSON parser logs the parse failure and goes on reading, so the answer
 * would silently lose a piece; here it ends the answer with {@code UPSTREAM_PROTOCOL};</li>
 * <li>a body that ends cleanly without the {@code "done": true} line: langchain4j reports nothing at all; here it
 * ends the answer with {@code UPSTREAM_FAILURE};</li>
 * <li>an {@code {"error": ...}} line mid-stream: langchain4j reports it and keeps reading; here the reading stops.</li>
 * </ul>
 * Transport errors (status, connection, timeout) reach the call with their original exception, before langchain4j
 * maps them, so the error mapping sees the JDK's exception types.
 *
 * <p>It also adds the optional bearer token to every request: langchain4j-ollama's model listing
 * ({@code OllamaModels}) takes no custom headers, so the token is added here, in one place, for every call.
 */
final class GuardedHttpClient implements HttpClient {

    private final HttpClient delegate;
    private final String authorization;

    GuardedHttpClient(HttpClient delegate, String token) {
        this.delegate = delegate;
        this.authorization = token == null ? null : "Bearer " + token;
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        return delegate.execute(authorized(request));
    }

    private HttpRequest authorized(HttpRequest request) {
        if (authorization == null || request.headers().keySet().stream().anyMatch("Authorization"::equalsIgnoreCase)) {
            return request;
        }
        Map<String, List<String>> headers = new LinkedHashMap<>(request.headers());
        headers.put("Authorization", List.of(authorization));
        return HttpRequest.builder().method(request.method()).url(request.url()).headers(headers)
                .body(request.body()).build();
    }

    @Override
    public void execute(HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        request = authorized(request);
        UpstreamCall call = UpstreamCall.current();
        if (call == null) {
            delegate.execute(request, parser, listener);
            return;
        }
        delegate.execute(request, new GuardedParser(parser, call), new GuardedListener(listener, call));
    }

    private record GuardedParser(ServerSentEventParser delegate, UpstreamCall call) implements ServerSentEventParser {
        @Override
        public void parse(InputStream body, ServerSentEventListener listener) {
            if (!call.bodyOpened(body)) {
                return;
            }
            delegate.parse(body, listener);
            if (!call.ended()) {
                call.fail(new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the Ollama server ended the answer before it was done (no \"done\": true line)"));
            }
        }
    }

    private record GuardedListener(ServerSentEventListener delegate, UpstreamCall call)
            implements ServerSentEventListener {

        @Override
        public void onOpen(SuccessfulHttpResponse response) {
            delegate.onOpen(response);
        }

        @Override
        public void onEvent(ServerSentEvent event) {
            onEvent(event, null);
        }

        @Override
        public void onEvent(ServerSentEvent event, ServerSentEventContext context) {
            if (call.ended()) {
                if (context != null) {
                    context.parsingHandle().cancel();
                }
                return;
            }
            String line = event.data();
            if (line == null || line.isBlank()) {
                return; // NDJSON allows no blank lines, but one does no harm
            }
            // Before langchain4j reads the line: the tool calls of the last ("done") line must go out before the end.
            call.lineArrived(line);
            try {
                if (context == null) {
                    delegate.onEvent(event);
                } else {
                    delegate.onEvent(event, context);
                }
            } catch (RuntimeException notJson) {
                // langchain4j's handler callbacks catch their own exceptions; what escapes is the line's parsing.
                call.fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the Ollama server sent a line that is not a valid chat response object", notJson));
            }
            if (call.ended() && context != null) {
                context.parsingHandle().cancel();
            }
        }

        @Override
        public void onError(Throwable error) {
            call.fail(OllamaErrors.map(error, call));
        }

        @Override
        public void onClose() {
            delegate.onClose();
        }
    }

    /** Builds langchain4j's JDK client over the provider's tracking JDK client, wrapped in a guard. */
    static final class Builder implements HttpClientBuilder {
        private final HttpClientBuilder delegate;
        private final String token;

        Builder(HttpClientBuilder delegate, String token) {
            this.delegate = delegate;
            this.token = token;
        }

        @Override
        public Duration connectTimeout() {
            return delegate.connectTimeout();
        }

        @Override
        public Builder connectTimeout(Duration timeout) {
            delegate.connectTimeout(timeout);
            return this;
        }

        @Override
        public Duration readTimeout() {
            return delegate.readTimeout();
        }

        @Override
        public Builder readTimeout(Duration timeout) {
            delegate.readTimeout(timeout);
            return this;
        }

        @Override
        public HttpClient build() {
            return new GuardedHttpClient(delegate.build(), token);
        }
    }
}

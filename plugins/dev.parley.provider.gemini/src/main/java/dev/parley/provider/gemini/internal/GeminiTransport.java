package dev.parley.provider.gemini.internal;

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
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The HTTP client langchain4j's Gemini module talks through: the JDK HTTP client (as langchain4j's own
 * {@code JdkHttpClient}), plus what Parley needs and that client lacks: every exchange can be cancelled, error
 * bodies reach {@link GeminiErrors} whole (the {@code RetryInfo} detail included), raw events are checked before
 * langchain4j parses them, and a stream that ends without its last event is an error, not an answer.
 *
 * <p>A Parley answer is tied to the exchange by {@link #bind}: langchain4j sends the request on the calling thread,
 * inside {@code chat(...)}, so the call bound to that thread is the one the request belongs to.
 */
final class GeminiTransport implements HttpClient {

    private final java.net.http.HttpClient http;
    private final Executor executor;
    private final String apiKey;
    private final Duration answerTimeout;
    private final ThreadLocal<GeminiCall> current = new ThreadLocal<>();

    GeminiTransport(java.net.http.HttpClient http, Executor executor, String apiKey, Duration answerTimeout) {
        this.http = http;
        this.executor = executor;
        this.apiKey = apiKey;
        this.answerTimeout = answerTimeout;
    }

    /** Ties the exchanges the current thread starts to {@code call} until {@link #unbind}. */
    void bind(GeminiCall call) {
        current.set(call);
    }

    void unbind() {
        current.remove();
    }

    /** A builder that hands langchain4j this transport (it calls no ServiceLoader then). */
    HttpClientBuilder builder() {
        GeminiTransport self = this;
        return new HttpClientBuilder() {
            private Duration connect;
            private Duration read;

            @Override
            public Duration connectTimeout() {
                return connect;
            }

            @Override
            public HttpClientBuilder connectTimeout(Duration timeout) {
                this.connect = timeout;
                return this;
            }

            @Override
            public Duration readTimeout() {
                return read;
            }

            @Override
            public HttpClientBuilder readTimeout(Duration timeout) {
                this.read = timeout;
                return this;
            }

            @Override
            public HttpClient build() {
                return self;
            }
        };
    }

    // ---- whole answers (generateContent, models, embeddings) ---------------------------------------------------

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        GeminiCall call = current.get();
        CompletableFuture<HttpResponse<byte[]>> exchange = http.sendAsync(toJdk(request), BodyHandlers.ofByteArray());
        if (call != null) {
            call.attach(() -> exchange.cancel(true));
        }
        HttpResponse<byte[]> response;
        try {
            response = exchange.get();
        } catch (CancellationException e) {
            throw new UpstreamFailure(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled", e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exchange.cancel(true);
            throw new UpstreamFailure(new ParleyException(ErrorCode.CANCELLED, "interrupted while waiting for Gemini", e));
        } catch (ExecutionException e) {
            ParleyException mapped = GeminiErrors.fromThrowable(e.getCause(), apiKey);
            if (call != null) {
                call.fail(mapped);
            }
            throw new UpstreamFailure(mapped);
        }
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() < 200 || response.statusCode() >= 300) {
            ParleyException mapped = GeminiErrors.fromHttp(response.statusCode(), body, apiKey);
            if (call != null) {
                call.fail(mapped);
            }
            throw new UpstreamFailure(mapped);
        }
        if (call != null && !call.inspect(body)) {
            throw new UpstreamFailure(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "the answer ended early"));
        }
        return SuccessfulHttpResponse.builder().statusCode(response.statusCode())
                .headers(response.headers().map()).body(body).build();
    }

    // ---- streams (streamGenerateContent?alt=sse) ---------------------------------------------------------------

    @Override
    public void execute(HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        GeminiCall call = current.get();
        if (call == null) {
            throw new IllegalStateException("a Gemini stream started outside a Parley call");
        }
        AtomicReference<InputStream> body = new AtomicReference<>();
        CompletableFuture<HttpResponse<InputStream>> exchange =
                http.sendAsync(toJdk(request), BodyHandlers.ofInputStream());
        call.attach(() -> {
            exchange.cancel(true);
            closeQuietly(body.get());
        });
        exchange.whenCompleteAsync((response, failure) -> {
            if (failure != null) {
                call.fail(failure instanceof CancellationException
                        ? new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled")
                        : GeminiErrors.fromThrowable(failure, apiKey));
                return;
            }
            body.set(response.body());
            if (call.ended()) {
                closeQuietly(response.body());
                return;
            }
            if (response.statusCode() < 200 || response.statusCode() >= 300) {
                call.fail(GeminiErrors.fromHttp(response.statusCode(), readAll(response.body()), apiKey));
                return;
            }
            try (InputStream in = response.body()) {
                parser.parse(in, new CheckedListener(call, listener));
            } catch (IOException | RuntimeException e) {
                call.fail(GeminiErrors.fromThrowable(e, apiKey));
                return;
            }
            if (call.ended()) {
                return;
            }
            if (call.sawFinish()) {
                listener.onClose(); // langchain4j assembles the answer and hands it to the Parley handler
                if (!call.ended()) {
                    call.fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                            "Gemini's stream ended without an answer langchain4j could assemble"));
                }
            } else {
                call.fail(new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "Gemini's stream ended before the answer finished"));
            }
        }, executor);
    }

    /** Passes an event to langchain4j only after {@link GeminiCall#inspect} accepted it. */
    private final class CheckedListener implements ServerSentEventListener {
        private final GeminiCall call;
        private final ServerSentEventListener delegate;

        CheckedListener(GeminiCall call, ServerSentEventListener delegate) {
            this.call = call;
            this.delegate = delegate;
        }

        @Override
        public void onEvent(ServerSentEvent event, ServerSentEventContext context) {
            if (!call.inspect(event.data())) {
                context.parsingHandle().cancel();
                return;
            }
            delegate.onEvent(event, context);
        }

        @Override
        public void onEvent(ServerSentEvent event) {
            throw new UnsupportedOperationException("events come with their context");
        }

        @Override
        public void onError(Throwable error) {
            // The parser reports a broken connection here (a cut stream), or the reset of a cancelled one.
            call.fail(new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "Gemini's stream broke off before the answer finished", error));
        }
    }

    private java.net.http.HttpRequest toJdk(HttpRequest request) {
        java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(URI.create(request.url()))
                .timeout(answerTimeout);
        request.headers().forEach((name, values) -> {
            if (values != null) {
                values.forEach(v -> b.header(name, v));
            }
        });
        String body = request.body();
        b.method(request.method().name(), body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        return b.build();
    }

    private static String readAll(InputStream in) {
        try (in) {
            // Error bodies are small google.rpc.Status objects; bound them all the same.
            return new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static void closeQuietly(InputStream in) {
        if (in != null) {
            try {
                in.close();
            } catch (IOException ignored) {
                // closing a stream we are abandoning
            }
        }
    }
}

package dev.parley.provider.openai.internal;

import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.langchain4j.http.client.sse.ServerSentEventParsingHandle;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;

/**
 * langchain4j's HTTP SPI over a shared {@link java.net.http.HttpClient}. Written here rather than using
 * langchain4j's JdkHttpClient because that one drops the headers of error responses (so no Retry-After), and its
 * stream cancellation only closes an input stream a parser thread may be blocked on. This one parses SSE from a
 * non-blocking line subscriber, cancels by cancelling the subscription (which closes the connection), and reports
 * a stream that ends without {@code [DONE]} as an error. One instance serves one Parley stream.
 */
final class UpstreamHttpClient implements HttpClient {

    private final java.net.http.HttpClient http;
    private final Duration readTimeout;
    private final TransportObserver observer;

    UpstreamHttpClient(java.net.http.HttpClient http, Duration readTimeout, TransportObserver observer) {
        this.http = http;
        this.readTimeout = readTimeout;
        this.observer = observer;
    }

    /** A builder langchain4j can be handed; it always builds this client over the shared JDK client. */
    static HttpClientBuilder builder(java.net.http.HttpClient http, Duration readTimeout, TransportObserver observer) {
        return new HttpClientBuilder() {
            private Duration read = readTimeout;

            @Override
            public Duration connectTimeout() {
                return http.connectTimeout().orElse(null);
            }

            @Override
            public HttpClientBuilder connectTimeout(Duration timeout) {
                // The shared JDK client carries the configured connect timeout; langchain4j's default is ignored.
                return this;
            }

            @Override
            public Duration readTimeout() {
                return read;
            }

            @Override
            public HttpClientBuilder readTimeout(Duration timeout) {
                // langchain4j passes our own readTimeout() back unless its model was given a timeout: keep ours.
                return this;
            }

            @Override
            public HttpClient build() {
                return new UpstreamHttpClient(http, read, observer);
            }
        };
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        try {
            HttpResponse<byte[]> response = http.send(toJdk(request), HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() / 100 != 2) {
                throw new UpstreamHttpException(response.statusCode(),
                        new String(response.body(), StandardCharsets.UTF_8), retryAfter(response.headers()));
            }
            return SuccessfulHttpResponse.builder().statusCode(response.statusCode())
                    .headers(response.headers().map()).body(response.body()).build();
        } catch (IOException e) {
            throw new TransportException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException(e);
        }
    }

    @Override
    public void execute(HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        // The parser is ignored on purpose: it reads a blocking InputStream; SSE lines are parsed below instead.
        SseSubscriber sse = new SseSubscriber(listener, observer);
        HttpResponse.BodyHandler<Void> handler = info -> {
            if (info.statusCode() / 100 == 2) {
                listener.onOpen(SuccessfulHttpResponse.builder().statusCode(info.statusCode())
                        .headers(info.headers().map()).build());
                return BodySubscribers.fromLineSubscriber(sse);
            }
            Duration retryAfter = retryAfter(info.headers());
            BodySubscriber<String> body = BodySubscribers.ofString(StandardCharsets.UTF_8);
            return BodySubscribers.mapping(body, text -> {
                sse.fail(new UpstreamHttpException(info.statusCode(), text, retryAfter));
                return null;
            });
        };
        CompletableFuture<HttpResponse<Void>> future = http.sendAsync(toJdk(request), handler);
        observer.attach(() -> {
            sse.cancel();
            future.cancel(true);
        });
        future.whenComplete((response, error) -> {
            if (error != null) {
                sse.fail(unwrap(error));
            }
        });
    }

    private java.net.http.HttpRequest toJdk(HttpRequest request) {
        var builder = java.net.http.HttpRequest.newBuilder(URI.create(request.url()));
        request.headers().forEach((name, values) -> {
            if (values != null) {
                values.forEach(v -> builder.header(name, v));
            }
        });
        var body = request.body() == null
                ? java.net.http.HttpRequest.BodyPublishers.noBody()
                : java.net.http.HttpRequest.BodyPublishers.ofString(request.body());
        builder.method(request.method().name(), body);
        if (readTimeout != null) {
            builder.timeout(readTimeout);
        }
        return builder.build();
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
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

    /** A failure below HTTP (connection refused, reset, timeout), kept distinct from langchain4j's own errors. */
    static final class TransportException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TransportException(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Turns lines into server-sent events for the listener; reports the end exactly once. */
    private static final class SseSubscriber implements Flow.Subscriber<String>, ServerSentEventParsingHandle {
        private final ServerSentEventListener listener;
        private final TransportObserver observer;
        private final ServerSentEventContext context = new ServerSentEventContext(this);
        private final StringBuilder data = new StringBuilder();
        private String event;
        private boolean sawDone;
        private volatile Flow.Subscription subscription;
        private volatile boolean cancelled;
        private volatile boolean ended;

        SseSubscriber(ServerSentEventListener listener, TransportObserver observer) {
            this.listener = listener;
            this.observer = observer;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (cancelled) {
                s.cancel();
            } else {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(String line) {
            if (cancelled || ended) {
                return;
            }
            observer.activity();
            if (line.isEmpty()) {
                dispatch();
            } else if (line.startsWith("data:")) {
                String content = line.substring(5);
                if (content.startsWith(" ")) {
                    content = content.substring(1);
                }
                if (!data.isEmpty()) {
                    data.append('\n');
                }
                data.append(content);
            } else if (line.startsWith("event:")) {
                event = line.substring(6).trim();
            }
        }

        private void dispatch() {
            if (data.isEmpty()) {
                return;
            }
            ServerSentEvent sse = new ServerSentEvent(event, data.toString());
            if ("[DONE]".equals(sse.data())) {
                sawDone = true;
            }
            event = null;
            data.setLength(0);
            try {
                listener.onEvent(sse, context);
            } catch (RuntimeException e) {
                fail(e);
            }
        }

        @Override
        public void onError(Throwable t) {
            fail(t);
        }

        @Override
        public void onComplete() {
            if (cancelled || ended) {
                return;
            }
            dispatch();
            if (!sawDone) {
                fail(new StreamEndedEarlyException());
                return;
            }
            ended = true;
            listener.onClose();
        }

        void fail(Throwable t) {
            if (cancelled || ended) {
                return;
            }
            ended = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            listener.onError(t instanceof IOException ? new TransportException(t) : t);
        }

        @Override
        public void cancel() {
            cancelled = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }
}

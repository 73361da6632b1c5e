package dev.parley.provider.anthropic.internal;

import com.anthropic.core.RequestOptions;
import com.anthropic.core.http.Headers;
import com.anthropic.core.http.HttpClient;
import com.anthropic.core.http.HttpRequest;
import com.anthropic.core.http.HttpRequestBody;
import com.anthropic.core.http.HttpResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * The SDK's transport on the JDK's {@code java.net.http} client instead of its OkHttp module: no OkHttp, Okio or
 * their threads in the bundle, and one client per provider instance whose threads are the provider's own executor.
 *
 * <p>The SDK calls {@link #execute} on the provider's worker thread. Interrupting that thread (cancellation)
 * cancels the exchange while it waits for the response headers; closing the response (the SDK does that when a
 * {@code StreamResponse} is closed) releases the body.
 */
final class JdkHttpClient implements HttpClient {

    /** Headers the JDK client sets itself and refuses from callers. */
    private static final Set<String> RESTRICTED = Set.of("connection", "content-length", "expect", "host", "upgrade");

    private final java.net.http.HttpClient http;
    private final Duration headersTimeout;

    JdkHttpClient(Duration connectTimeout, Duration headersTimeout, Executor executor) {
        this.headersTimeout = headersTimeout;
        this.http = java.net.http.HttpClient.newBuilder()
                .connectTimeout(connectTimeout)
                // HTTP/1.1: every SSE answer on its own connection, so closing it stops exactly that answer upstream.
                .version(java.net.http.HttpClient.Version.HTTP_1_1)
                .followRedirects(java.net.http.HttpClient.Redirect.NEVER)
                .executor(executor)
                .build();
    }

    @Override
    public HttpResponse execute(HttpRequest request, RequestOptions requestOptions) {
        CompletableFuture<HttpResponse> future = executeAsync(request, requestOptions);
        try {
            return future.get();
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new InterruptedIOException("the request was cancelled"));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw new UncheckedIOException(io);
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(cause);
        }
    }

    @Override
    public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions requestOptions) {
        java.net.http.HttpRequest jdkRequest;
        try {
            jdkRequest = toJdk(request);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<java.net.http.HttpResponse<InputStream>> sent =
                http.sendAsync(jdkRequest, BodyHandlers.ofInputStream());
        CompletableFuture<HttpResponse> mapped = sent.thenApply(JdkResponse::new);
        // Cancelling what the caller holds cancels the exchange underneath.
        mapped.whenComplete((r, e) -> {
            if (e instanceof CancellationException) {
                sent.cancel(true);
            }
        });
        return mapped;
    }

    private java.net.http.HttpRequest toJdk(HttpRequest request) throws IOException {
        var builder = java.net.http.HttpRequest.newBuilder(URI.create(request.url())).timeout(headersTimeout);
        Headers headers = request.headers();
        for (String name : headers.names()) {
            if (RESTRICTED.contains(name.toLowerCase(Locale.ROOT))) {
                continue;
            }
            for (String value : headers.values(name)) {
                builder.header(name, value);
            }
        }
        HttpRequestBody body = request.body().orElse(null);
        if (body == null) {
            builder.method(request.method().name(), java.net.http.HttpRequest.BodyPublishers.noBody());
        } else {
            try (body) {
                var bytes = new ByteArrayOutputStream();
                body.writeTo(bytes);
                String type = body.contentType();
                if (type != null && headers.values("Content-Type").isEmpty()) {
                    builder.header("Content-Type", type);
                }
                builder.method(request.method().name(),
                        java.net.http.HttpRequest.BodyPublishers.ofByteArray(bytes.toByteArray()));
            }
        }
        return builder.build();
    }

    @Override
    public void close() {
        // Java 21+ clients are AutoCloseable (they end their selector thread at once); on 17 the selector thread ends
        // by itself once the client is unreachable and idle, and every thread it runs work on is the provider's.
        if ((Object) http instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                // closing is best effort
            }
        }
    }

    private static final class JdkResponse implements HttpResponse {
        private final java.net.http.HttpResponse<InputStream> response;
        private final Headers headers;
        private final InputStream body;

        JdkResponse(java.net.http.HttpResponse<InputStream> response) {
            this.response = response;
            // available() = 0: a reader (the SDK's SSE line reader) hands over what it decoded instead of reading on
            // into the next buffer, so events that arrived before a broken connection still reach Parley in order.
            this.body = new java.io.FilterInputStream(response.body()) {
                @Override
                public int available() {
                    return 0;
                }
            };
            var b = Headers.builder();
            response.headers().map().forEach((name, values) -> {
                if (!name.startsWith(":")) {
                    b.put(name, values);
                }
            });
            this.headers = b.build();
        }

        @Override
        public int statusCode() {
            return response.statusCode();
        }

        @Override
        public Headers headers() {
            return headers;
        }

        @Override
        public InputStream body() {
            return body;
        }

        @Override
        public void close() {
            try {
                response.body().close();
            } catch (IOException e) {
                // already broken: nothing left to release
            }
        }
    }
}

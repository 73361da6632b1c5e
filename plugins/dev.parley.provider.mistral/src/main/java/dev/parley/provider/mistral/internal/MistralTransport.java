package dev.parley.provider.mistral.internal;

import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.langchain4j.http.client.sse.ServerSentEventParsingHandle;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.BufferedReader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The HTTP transport handed to langchain4j-mistral-ai (its {@link HttpClient} SPI), over the JDK HTTP client.
 *
 * <p>Why not the library's own {@code JdkHttpClient}: its SSE parser ignores an exception thrown while an event is
 * handled (a malformed event or an error event would vanish), never reports a stream that ends without
 * {@code [DONE]} (the answer would hang), drops the response headers of an error (no {@code Retry-After}), and cannot be
 * cancelled or bounded. This one reads the stream strictly as Mistral documents it, stops at the first bad event,
 * reports a cut, keeps the headers, honours {@link Exchange#abort} and {@link Exchange#maxBytes}.
 *
 * <p>The library calls {@link #execute} on the thread that started the call; {@link #bind} tells this transport
 * which {@link Exchange} that call belongs to.
 */
final class MistralTransport implements HttpClient {

    private static final int MAX_ERROR_BODY = 64 * 1024;

    private final java.net.http.HttpClient http;
    private final Executor io;
    private final Duration headersTimeout;
    private final ThreadLocal<Exchange> current = new ThreadLocal<>();

    MistralTransport(java.net.http.HttpClient http, Executor io, Duration headersTimeout) {
        this.http = http;
        this.io = io;
        this.headersTimeout = headersTimeout;
    }

    /** Runs {@code action} (which calls the library) with its HTTP exchanges belonging to {@code exchange}. */
    <T> T bind(Exchange exchange, Supplier<T> action) {
        Exchange before = current.get();
        current.set(exchange);
        try {
            return action.get();
        } finally {
            if (before == null) {
                current.remove();
            } else {
                current.set(before);
            }
        }
    }

    private Exchange exchange() {
        Exchange e = current.get();
        // A call the plugin did not bind (none today): unbounded by cancel, bounded in size.
        return e != null ? e : new Exchange(8L * 1024 * 1024);
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        Exchange ex = exchange();
        CompletableFuture<HttpResponse<InputStream>> f = http.sendAsync(toJdk(request), BodyHandlers.ofInputStream());
        ex.attach(f);
        HttpResponse<InputStream> response;
        try {
            response = f.get();
        } catch (CancellationException e) {
            throw abortedOr(ex, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ex.abort(new ParleyException(ErrorCode.CANCELLED, "the call was interrupted"));
            throw ex.abortReason();
        } catch (ExecutionException e) {
            if (ex.abortReason() != null) {
                throw ex.abortReason();
            }
            throw e.getCause() instanceof RuntimeException re ? re : new TransportFailure(e.getCause());
        }
        try (InputStream in = response.body()) {
            ex.attach(in);
            if (!successful(response)) {
                throw new UpstreamHttpException(response.statusCode(), response.headers().map(),
                        new String(readUpTo(in, MAX_ERROR_BODY), StandardCharsets.UTF_8));
            }
            byte[] body = new Limited(in, ex).readAllBytes();
            return SuccessfulHttpResponse.builder()
                    .statusCode(response.statusCode())
                    .headers(response.headers().map())
                    .body(body)
                    .build();
        } catch (IOException e) {
            if (ex.abortReason() != null) {
                throw ex.abortReason();
            }
            if (e instanceof TooLarge) {
                throw new UpstreamStreamException(UpstreamStreamException.Kind.TOO_LARGE, e.getMessage(), null, e);
            }
            throw new UpstreamStreamException(UpstreamStreamException.Kind.CUT,
                    "the connection broke before the answer was complete", null, e);
        }
    }

    @Override
    public void execute(HttpRequest request, ServerSentEventParser ignoredParser, ServerSentEventListener listener) {
        Exchange ex = exchange();
        CompletableFuture<HttpResponse<InputStream>> f = http.sendAsync(toJdk(request), BodyHandlers.ofInputStream());
        ex.attach(f);
        // The stream is read on the provider's I/O pool, never on the JDK client's selector thread.
        f.whenCompleteAsync((response, error) -> {
            if (ex.abortReason() != null) {
                if (response != null) {
                    ex.attach(response.body());
                }
                return; // the call has already ended (cancelled, timed out, stopped)
            }
            if (error != null) {
                Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                listener.onError(cause);
                return;
            }
            readStream(response, ex, listener);
        }, io);
    }

    private void readStream(HttpResponse<InputStream> response, Exchange ex, ServerSentEventListener listener) {
        try (InputStream in = response.body()) {
            ex.attach(in);
            if (!successful(response)) {
                listener.onError(new UpstreamHttpException(response.statusCode(), response.headers().map(),
                        new String(readUpTo(in, MAX_ERROR_BODY), StandardCharsets.UTF_8)));
                return;
            }
            listener.onOpen(SuccessfulHttpResponse.builder().statusCode(response.statusCode())
                    .headers(response.headers().map()).build());
            ServerSentEventContext context = new ServerSentEventContext(new AbortHandle(ex));
            // Server-sent events framing (WHATWG HTML "Parsing an event stream"): lines, "field: value", a blank
            // line dispatches; Mistral sends only data fields and ends with "data: [DONE]".
            BufferedReader reader = new BufferedReader(new InputStreamReader(new Limited(in, ex), StandardCharsets.UTF_8));
            StringBuilder data = new StringBuilder();
            String event = null;
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) {
                    if (data.length() > 0) {
                        Boolean done = dispatch(new ServerSentEvent(event, data.toString()), context, ex, listener);
                        if (done == null || done) {
                            return;
                        }
                        data.setLength(0);
                    }
                    event = null;
                } else if (line.startsWith(":")) {
                    continue; // a comment (keep-alive)
                } else if (line.startsWith("data:")) {
                    if (data.length() > 0) {
                        data.append('\n');
                    }
                    data.append(value(line, 5));
                } else if (line.startsWith("event:")) {
                    event = value(line, 6);
                }
            }
            if (data.length() > 0) {
                Boolean done = dispatch(new ServerSentEvent(event, data.toString()), context, ex, listener);
                if (done == null || done) {
                    return;
                }
            }
            if (ex.abortReason() == null) {
                listener.onError(new UpstreamStreamException(UpstreamStreamException.Kind.CUT,
                        "the stream ended without data: [DONE]", null, null));
            }
        } catch (IOException e) {
            if (ex.abortReason() != null) {
                return;
            }
            listener.onError(e instanceof TooLarge
                    ? new UpstreamStreamException(UpstreamStreamException.Kind.TOO_LARGE, e.getMessage(), null, e)
                    : new UpstreamStreamException(UpstreamStreamException.Kind.CUT,
                            "the connection broke before the answer was complete", null, e));
        } catch (RuntimeException e) {
            if (ex.abortReason() == null) {
                listener.onError(e);
            }
        }
    }

    /** Hands one event to the library; true when the stream is done, null when it failed (reported), else false. */
    private static Boolean dispatch(ServerSentEvent sse, ServerSentEventContext context, Exchange ex,
            ServerSentEventListener listener) {
        if (ex.abortReason() != null) {
            return null;
        }
        String data = sse.data();
        boolean done = "[DONE]".equals(data);
        if (!done) {
            ex.observe(data);
        }
        try {
            listener.onEvent(sse, context);
        } catch (RuntimeException e) {
            // The library could not read it as a chunk: an error object sent in the stream, or garbage.
            listener.onError(MistralErrors.isErrorObject(data)
                    ? new UpstreamStreamException(UpstreamStreamException.Kind.ERROR_EVENT,
                            "the stream carried an error event", data, e)
                    : new UpstreamStreamException(UpstreamStreamException.Kind.MALFORMED,
                            "an event that is not a chat-completion chunk", data, e));
            return null;
        }
        return done;
    }

    private static String value(String line, int from) {
        String v = line.substring(from);
        return v.startsWith(" ") ? v.substring(1) : v;
    }

    private java.net.http.HttpRequest toJdk(HttpRequest request) {
        java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(URI.create(request.url()))
                .timeout(headersTimeout);
        request.headers().forEach((name, values) -> {
            if (values != null) {
                values.forEach(v -> b.header(name, v));
            }
        });
        b.method(request.method().name(), request.body() == null
                ? java.net.http.HttpRequest.BodyPublishers.noBody()
                : java.net.http.HttpRequest.BodyPublishers.ofString(request.body(), StandardCharsets.UTF_8));
        return b.build();
    }

    private static boolean successful(HttpResponse<?> r) {
        return r.statusCode() >= 200 && r.statusCode() < 300;
    }

    private static RuntimeException abortedOr(Exchange ex, RuntimeException e) {
        return ex.abortReason() != null ? ex.abortReason() : e;
    }

    private static byte[] readUpTo(InputStream in, int max) throws IOException {
        return in.readNBytes(max);
    }

    /** Counts what is read and fails once the exchange's limit is passed. */
    private static final class Limited extends FilterInputStream {
        private final Exchange ex;
        private long read;

        Limited(InputStream in, Exchange ex) {
            super(in);
            this.ex = ex;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws IOException {
            read += n;
            if (read > ex.maxBytes()) {
                throw new TooLarge("the answer is larger than " + ex.maxBytes() + " bytes (maxAnswerBytes)");
            }
        }
    }

    private static final class TooLarge extends IOException {
        private static final long serialVersionUID = 1L;

        TooLarge(String message) {
            super(message);
        }
    }

    /** A transport failure (connection refused, reset, TLS) as an unchecked exception with its cause kept. */
    static final class TransportFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TransportFailure(Throwable cause) {
            super(cause == null ? "transport failure" : cause.getClass().getSimpleName(), cause);
        }
    }

    /** What the library's streaming handle (cancellation from inside a callback) does: stop this exchange. */
    private static final class AbortHandle implements ServerSentEventParsingHandle {
        private final Exchange ex;

        AbortHandle(Exchange ex) {
            this.ex = ex;
        }

        @Override
        public void cancel() {
            ex.abort(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
        }

        @Override
        public boolean isCancelled() {
            return ex.abortReason() != null;
        }
    }

    /** The builder the library asks for; the plugin builds the transport itself and hands this over. */
    static final class Builder implements HttpClientBuilder {
        private final MistralTransport transport;
        private Duration connectTimeout;
        private Duration readTimeout;

        Builder(MistralTransport transport) {
            this.transport = transport;
        }

        @Override
        public Duration connectTimeout() {
            return connectTimeout;
        }

        @Override
        public HttpClientBuilder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout; // the JDK client was built with the configured one
            return this;
        }

        @Override
        public Duration readTimeout() {
            return readTimeout;
        }

        @Override
        public HttpClientBuilder readTimeout(Duration timeout) {
            this.readTimeout = timeout; // the exchange's answer timeout governs instead
            return this;
        }

        @Override
        public HttpClient build() {
            return transport;
        }
    }
}

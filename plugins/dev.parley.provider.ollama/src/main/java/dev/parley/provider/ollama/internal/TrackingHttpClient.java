package dev.parley.provider.ollama.internal;

import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.PushPromiseHandler;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * The JDK HTTP client langchain4j's {@code JdkHttpClient} runs on, with three things langchain4j does not give:
 * the status and headers of a failed response (langchain4j's {@code HttpException} keeps only status and body, so a
 * proxy's {@code Retry-After} would be lost), the in-flight exchange (so {@link UpstreamCall#cancel()} stops the
 * upstream call even before the first byte, where langchain4j's own handle does not exist yet), and a cap on the
 * response body size. Each exchange belongs to the {@link UpstreamCall} that is {@link UpstreamCall#current()} on the
 * thread that starts it: langchain4j starts the exchange synchronously inside the provider's call into it.
 */
final class TrackingHttpClient extends HttpClient {

    private final HttpClient delegate;
    private final long maxBodyBytes;

    TrackingHttpClient(HttpClient delegate, long maxBodyBytes) {
        this.delegate = delegate;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, BodyHandler<T> handler) {
        UpstreamCall call = UpstreamCall.current();
        CompletableFuture<HttpResponse<T>> exchange = delegate.sendAsync(request, observing(handler, call));
        if (call != null) {
            call.exchangeStarted(exchange);
        }
        return exchange;
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, BodyHandler<T> handler,
            PushPromiseHandler<T> pushPromiseHandler) {
        return sendAsync(request, handler);
    }

    /** Blocking calls go through {@link #sendAsync} too, so that they can be cancelled the same way. */
    @Override
    public <T> HttpResponse<T> send(HttpRequest request, BodyHandler<T> handler)
            throws IOException, InterruptedException {
        CompletableFuture<HttpResponse<T>> exchange = sendAsync(request, handler);
        try {
            return exchange.get();
        } catch (InterruptedException e) {
            exchange.cancel(true);
            throw e;
        } catch (CancellationException e) {
            throw new IOException("the call was cancelled", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                // Keep the JDK's exception type (HttpTimeoutException, ConnectException) for the error mapping.
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    private <T> BodyHandler<T> observing(BodyHandler<T> handler, UpstreamCall call) {
        return info -> {
            if (call != null) {
                call.responseArrived(info.statusCode(), info.headers());
            }
            return new CappedSubscriber<>(handler.apply(info), maxBodyBytes);
        };
    }

    /** Fails the body with {@link AnswerTooLargeException} once more than {@code max} bytes arrived. */
    private static final class CappedSubscriber<T> implements BodySubscriber<T> {
        private final BodySubscriber<T> delegate;
        private final long max;
        private long received;
        private Flow.Subscription subscription;
        private boolean failed;

        CappedSubscriber(BodySubscriber<T> delegate, long max) {
            this.delegate = delegate;
            this.max = max;
        }

        @Override
        public CompletionStage<T> getBody() {
            return delegate.getBody();
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            this.subscription = s;
            delegate.onSubscribe(s);
        }

        @Override
        public void onNext(List<ByteBuffer> item) {
            if (failed) {
                return;
            }
            for (ByteBuffer b : item) {
                received += b.remaining();
            }
            if (received > max) {
                failed = true;
                subscription.cancel();
                delegate.onError(new AnswerTooLargeException(max));
                return;
            }
            delegate.onNext(item);
        }

        @Override
        public void onError(Throwable throwable) {
            if (!failed) {
                delegate.onError(throwable);
            }
        }

        @Override
        public void onComplete() {
            if (!failed) {
                delegate.onComplete();
            }
        }
    }

    // ---- plain delegation ---------------------------------------------------------------------------------------

    @Override
    public Optional<CookieHandler> cookieHandler() {
        return delegate.cookieHandler();
    }

    @Override
    public Optional<Duration> connectTimeout() {
        return delegate.connectTimeout();
    }

    @Override
    public Redirect followRedirects() {
        return delegate.followRedirects();
    }

    @Override
    public Optional<ProxySelector> proxy() {
        return delegate.proxy();
    }

    @Override
    public SSLContext sslContext() {
        return delegate.sslContext();
    }

    @Override
    public SSLParameters sslParameters() {
        return delegate.sslParameters();
    }

    @Override
    public Optional<Authenticator> authenticator() {
        return delegate.authenticator();
    }

    @Override
    public Version version() {
        return delegate.version();
    }

    @Override
    public Optional<Executor> executor() {
        return delegate.executor();
    }

    /**
     * What langchain4j's {@code JdkHttpClient} builds its client with: it sets the connect timeout, and gets this
     * tracking client, over the one JDK client of the provider instance.
     */
    static final class Builder implements HttpClient.Builder {
        private final HttpClient.Builder real;
        private final long maxBodyBytes;
        private HttpClient built;

        Builder(HttpClient.Builder real, long maxBodyBytes) {
            this.real = real;
            this.maxBodyBytes = maxBodyBytes;
        }

        @Override
        public Builder cookieHandler(CookieHandler cookieHandler) {
            real.cookieHandler(cookieHandler);
            return this;
        }

        @Override
        public Builder connectTimeout(Duration duration) {
            real.connectTimeout(duration);
            return this;
        }

        @Override
        public Builder sslContext(SSLContext sslContext) {
            real.sslContext(sslContext);
            return this;
        }

        @Override
        public Builder sslParameters(SSLParameters sslParameters) {
            real.sslParameters(sslParameters);
            return this;
        }

        @Override
        public Builder executor(Executor executor) {
            real.executor(executor);
            return this;
        }

        @Override
        public Builder followRedirects(Redirect policy) {
            real.followRedirects(policy);
            return this;
        }

        @Override
        public Builder version(Version version) {
            real.version(version);
            return this;
        }

        @Override
        public Builder priority(int priority) {
            real.priority(priority);
            return this;
        }

        @Override
        public Builder proxy(ProxySelector proxySelector) {
            real.proxy(proxySelector);
            return this;
        }

        @Override
        public Builder authenticator(Authenticator authenticator) {
            real.authenticator(authenticator);
            return this;
        }

        /**
         * Closes the JDK client where the JDK can (21+: {@code HttpClient} is {@code AutoCloseable}, and closing stops its
         * selector thread at once). On 17 the selector thread ends by itself once the client is unreachable.
         */
        synchronized void close() {
            if (built instanceof TrackingHttpClient tracking && tracking.delegate instanceof AutoCloseable closeable) {
                try {
                    closeable.close();
                } catch (Exception e) {
                    // nothing left to do: the provider is stopping
                }
            }
        }

        /** The same client every time: langchain4j builds one per model object, the provider wants one in all. */
        @Override
        public synchronized HttpClient build() {
            if (built == null) {
                built = new TrackingHttpClient(real.build(), maxBodyBytes);
            }
            return built;
        }
    }
}

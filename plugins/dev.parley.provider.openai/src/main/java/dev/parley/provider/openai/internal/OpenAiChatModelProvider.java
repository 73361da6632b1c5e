package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JsonFactory;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.telemetry.TraceHeaders;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A chat model provider for OpenAI and OpenAI-compatible servers, and the embedding provider of the same server's
 * {@code POST /embeddings} (for the embedding models configured). Exists only while configured: no configuration
 * means no provider, and Parley runs in offline mode.
 */
@Component(
        service = {ChatModelProvider.class, EmbeddingProvider.class},
        configurationPid = OpenAiProviderConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        property = OpenAiChatModelProvider.PROVIDER_ID_PROPERTY + "=openai")
@Designate(ocd = OpenAiProviderConfig.class, factory = true)
public final class OpenAiChatModelProvider implements ChatModelProvider, EmbeddingProvider {

    /** Service property naming the provider id; set it in the configuration too when changing providerId. */
    public static final String PROVIDER_ID_PROPERTY = "parley.provider.id";

    /** Configuration key for the API key that DS does not copy into the service properties. */
    public static final String PRIVATE_API_KEY = ".apiKey";

    static final List<String> FALLBACK_MODELS = List.of("gpt-4o-mini", "gpt-4o");
    static final Duration MODEL_REFRESH = Duration.ofMinutes(5);

    private static final Logger LOG = LoggerFactory.getLogger(OpenAiChatModelProvider.class);

    private final String providerId;
    private final String baseUrl;
    private final URI chatCompletions;
    private final URI embeddings;
    private final Map<String, Set<ModelCapability>> capabilities;
    private final List<EmbeddingModel> embeddingModels;
    private final java.net.http.HttpClient.Version httpVersion;
    private final String apiKey;
    private final String organization;
    private final int contextWindow;
    private final int maxOutputTokens;
    private final Duration readTimeout;
    private final Duration firstTokenTimeout;
    private final int maxAnswerBytes;
    private final ExecutorService io;
    private final ScheduledExecutorService scheduler;
    private final java.net.http.HttpClient http;
    /** Thread-safe; shares its symbol tables and buffers across all streams of this provider. */
    private final JsonFactory json = new JsonFactory();
    private final TokenEstimator tokens = new TokenEstimator();
    /** One party for the provider itself plus one per stream running; see {@link #deactivate()}. */
    private final Phaser running = new Phaser(1);
    private final Set<ParleyStream> streams = ConcurrentHashMap.newKeySet();
    private final Duration drainTimeout;
    private volatile List<ModelDescriptor> models = List.of();
    /** Writes the current trace into each upstream request, while Parley's telemetry is there. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile TraceHeaders traceHeaders;
    private volatile boolean fetchedOnce;

    @Activate
    public OpenAiChatModelProvider(OpenAiProviderConfig config, Map<String, Object> properties) {
        String configuredId = blankToNull(config.providerId());
        this.providerId = configuredId == null ? "openai" : configuredId;
        Object serviceId = properties.get(PROVIDER_ID_PROPERTY);
        if (serviceId != null && !providerId.equals(serviceId)) {
            LOG.warn("event=provider_id_mismatch providerId={} {}={} hint=\"set both keys to the same value\"",
                    providerId, PROVIDER_ID_PROPERTY, serviceId);
        }
        String url = Objects.requireNonNullElse(blankToNull(config.baseUrl()), "https://api.openai.com/v1");
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.chatCompletions = URI.create(baseUrl + "/chat/completions");
        this.embeddings = URI.create(baseUrl + "/embeddings");
        this.httpVersion = Upstream.httpVersion(chatCompletions);
        // Malformed entries fail activation, with a message that names them, before any thread is started.
        this.capabilities = ModelSettings.capabilities(config.modelCapabilities());
        this.embeddingModels = List.copyOf(ModelSettings.embeddingModels(config.embeddingModels(), providerId));
        // DS publishes configuration properties as service properties unless their name starts with a dot:
        // ".apiKey" keeps the key out of the service registry, so it wins over "apiKey".
        Object privateKey = properties.get(PRIVATE_API_KEY);
        this.apiKey = privateKey instanceof String k && !k.isBlank() ? k.trim() : blankToNull(config.apiKey());
        this.organization = blankToNull(config.organization());
        this.maxOutputTokens = Math.max(1, config.defaultMaxOutputTokens());
        this.contextWindow = Math.max(maxOutputTokens, config.defaultContextWindow());
        this.readTimeout = Duration.ofSeconds(Math.max(1, config.readTimeoutSeconds()));
        this.firstTokenTimeout = Duration.ofSeconds(Math.max(1, config.firstTokenTimeoutSeconds()));
        this.maxAnswerBytes = Math.max(1024, config.maxAnswerBytes());
        this.drainTimeout = Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds()));
        this.io = Executors.newCachedThreadPool(threads("parley-openai-io-" + providerId));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(threads("parley-openai-timer-" + providerId));
        // One client for all requests of this provider: it pools connections (HTTP/1.1 keep-alive, HTTP/2
        // multiplexing). Each request names its version; see Upstream.httpVersion.
        // The response body is handled on the client's own selector thread: its executor runs every task in place,
        // so a chunk is read, parsed and written downstream by one thread with no hand-off (ADR 7). That is safe
        // because nothing on that path blocks: core's handler only encodes and queues, and stores answers on its
        // own threads. Blocking work of this provider (the model list) runs on `io`.
        this.http = java.net.http.HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(Math.max(1, config.connectTimeoutSeconds())))
                .version(java.net.http.HttpClient.Version.HTTP_2)
                .executor(Runnable::run)
                .build();

        List<String> configured = config.models() == null ? List.of()
                : Arrays.stream(config.models()).map(String::trim).filter(s -> !s.isEmpty()).toList();
        if (configured.isEmpty()) {
            io.execute(this::refreshModels);
            scheduler.scheduleWithFixedDelay(() -> io.execute(this::refreshModels),
                    MODEL_REFRESH.toSeconds(), MODEL_REFRESH.toSeconds(), TimeUnit.SECONDS);
        } else {
            this.models = descriptors(configured);
            this.fetchedOnce = true;
        }
        LOG.info("event=provider_activated provider={} baseUrl={} apiKey={} models={} embeddingModels={}", providerId,
                loggable(baseUrl), apiKey == null ? "none" : "set", configured.isEmpty() ? "from-upstream" : configured,
                embeddingModels.stream().map(EmbeddingModel::id).toList());
    }

    @Deactivate
    void deactivate() {
        // DS has already unregistered the service, so no new stream starts here. Streams already running finish on
        // this instance (a plugin upgrade runs the new version beside this one), up to the drain timeout.
        int phase = running.arriveAndDeregister();
        try {
            running.awaitAdvanceInterruptibly(phase, drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("event=provider_drain_timeout provider={} streams={}", providerId, streams.size());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ParleyStream s : streams) {
            s.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider stopped before the answer finished"));
        }
        scheduler.shutdownNow();
        io.shutdownNow();
        LOG.info("event=provider_deactivated provider={}", providerId);
    }

    @Override
    public String id() {
        return providerId;
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    /** True once the model list is known (configured, fetched, or fallen back). */
    boolean modelsKnown() {
        return fetchedOnce;
    }

    void refreshModels() {
        Map<String, String> headers = new java.util.HashMap<>();
        if (apiKey != null) {
            headers.put("Authorization", "Bearer " + apiKey);
        }
        if (organization != null) {
            headers.put("OpenAI-Organization", organization);
        }
        Duration timeout = readTimeout.compareTo(Duration.ofSeconds(30)) < 0 ? readTimeout : Duration.ofSeconds(30);
        try {
            List<String> ids = new ModelCatalog(json, http, baseUrl, headers, timeout).fetch();
            if (ids.isEmpty()) {
                throw new java.io.IOException("GET /models listed no chat models");
            }
            models = descriptors(ids);
            LOG.info("event=models_fetched provider={} count={}", providerId, ids.size());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            if (!fetchedOnce || models.isEmpty()) {
                models = descriptors(FALLBACK_MODELS);
            }
            LOG.warn("event=models_fetch_failed provider={} error=\"{}\" using={}", providerId, e.getMessage(),
                    models.stream().map(ModelDescriptor::id).toList());
        }
        fetchedOnce = true;
    }

    private List<ModelDescriptor> descriptors(List<String> ids) {
        return ids.stream().distinct()
                .map(id -> new ModelDescriptor(id, providerId, id, contextWindow, maxOutputTokens,
                        capabilities.getOrDefault(id, Set.of())))
                .toList();
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, true);
    }

    /**
     * One non-streamed upstream call ({@code "stream": false}): no tokens, the whole answer in {@code onComplete}.
     * Same handle, cancellation, drain and error mapping as {@link #stream}; the answer may take up to the read
     * timeout (it comes with the response headers), and its body is bounded by {@code maxAnswerBytes}.
     */
    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, false);
    }

    private StreamHandle start(ChatRequest request, ChatStreamHandler handler, boolean streamed) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        String model = request.model();
        // A non-streamed answer arrives whole with its headers: the first-token deadline does not apply to it.
        ParleyStream stream = new ParleyStream(handler, model, streamed ? firstTokenTimeout : readTimeout, readTimeout,
                scheduler, () -> estimateTokens(model, request.messages()), text -> estimateText(model, text));
        if (io.isShutdown() || running.register() < 0) {
            stream.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider is shutting down"));
            return stream;
        }
        streams.add(stream);
        stream.whenTerminated(() -> {
            streams.remove(stream);
            running.arriveAndDeregister();
        });
        try {
            byte[] body = ChatRequestWriter.write(json, request, streamed);
            stream.startWatchdog();
            send(body, stream, streamed);
        } catch (ParleyException e) {
            stream.fail(e);
        } catch (RuntimeException e) {
            stream.fail(UpstreamErrors.map(e, model));
        }
        return stream;
    }

    // ---- embeddings ------------------------------------------------------------------------------------------------

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return embeddingModels;
    }

    /**
     * One {@code POST /embeddings} for the whole request (core splits batches larger than the model's). The answer is
     * read off the client's selector thread, on this provider's I/O pool: a large batch is megabytes of numbers.
     */
    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Objects.requireNonNull(request, "request");
        EmbeddingModel model = embeddingModels.stream().filter(m -> m.id().equals(request.model())).findFirst()
                .orElse(null);
        if (model == null) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.MODEL_NOT_FOUND, "embedding model '"
                    + request.model() + "' is not configured for provider " + providerId));
        }
        if (request.inputs().size() > model.maxBatchSize()) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.INVALID_REQUEST, request.inputs().size()
                    + " inputs in one call; model " + model.id() + " takes at most " + model.maxBatchSize()));
        }
        if (request.dimensions() != null && !model.reducible() && request.dimensions() != model.dimensions()) {
            return CompletableFuture.failedFuture(ParleyException.invalid("dimensions", "model " + model.id()
                    + " only gives vectors of " + model.dimensions() + " dimensions"));
        }
        if (io.isShutdown()) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the provider is shutting down"));
        }
        var builder = HttpRequest.newBuilder(embeddings)
                .version(httpVersion)
                .timeout(readTimeout)
                .header("Content-Type", "application/json")
                .header("User-Agent", "parley-openai")
                .POST(HttpRequest.BodyPublishers.ofByteArray(OpenAiEmbeddings.write(json, request)));
        if (apiKey != null) {
            builder.header("Authorization", "Bearer " + apiKey);
        }
        if (organization != null) {
            builder.header("OpenAI-Organization", organization);
        }
        TraceHeaders trace = traceHeaders;
        if (trace != null) {
            trace.inject(builder::header);
        }
        int inputs = request.inputs().size();
        return http.sendAsync(builder.build(), HttpResponse.BodyHandlers.ofByteArray())
                .thenApplyAsync(response -> {
                    if (response.statusCode() / 100 != 2) {
                        throw new UpstreamHttpException(response.statusCode(),
                                new String(response.body(), StandardCharsets.UTF_8),
                                UpstreamErrors.retryAfter(response.headers()));
                    }
                    return OpenAiEmbeddings.parse(json, response.body(), inputs, model.id());
                }, io)
                .exceptionallyCompose(e -> CompletableFuture.failedFuture(UpstreamErrors.map(unwrap(e), model.id())));
    }

    private void send(byte[] body, ParleyStream stream, boolean streamed) {
        var builder = HttpRequest.newBuilder(chatCompletions)
                .version(httpVersion)
                // No client timeout: the stream's watchdog (first token, then silence) covers the wait for the
                // headers too, and a timer per request in the client is work on its selector thread for nothing.
                .header("Content-Type", "application/json")
                .header("User-Agent", "parley-openai")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (apiKey != null) {
            builder.header("Authorization", "Bearer " + apiKey);
        }
        if (organization != null) {
            builder.header("OpenAI-Organization", organization);
        }
        // On the calling thread, where core has made this answer's model-call span current.
        TraceHeaders trace = traceHeaders;
        if (trace != null) {
            trace.inject(builder::header);
        }
        BodyReader reader = streamed ? new StreamReader(stream) : new AnswerReader(stream);
        AtomicReference<UpstreamHttpException> refused = new AtomicReference<>();
        HttpResponse.BodyHandler<Void> handler = info -> {
            if (info.statusCode() / 100 == 2) {
                return reader.body(info);
            }
            Duration retryAfter = UpstreamErrors.retryAfter(info.headers());
            // Kept until the exchange is complete: failing the answer here, while the client still holds the
            // connection, would cancel the exchange and close the connection after the client has handed it back to
            // its pool, under the next request that takes it.
            return BodySubscribers.mapping(BodySubscribers.ofString(StandardCharsets.UTF_8), text -> {
                refused.set(new UpstreamHttpException(info.statusCode(), text, retryAfter));
                return null;
            });
        };
        CompletableFuture<HttpResponse<Void>> future = http.sendAsync(builder.build(), handler);
        stream.attach(() -> {
            reader.cancel();
            future.cancel(true);
        });
        future.whenComplete((response, error) -> {
            if (error != null) {
                reader.fail(unwrap(error));
            } else if (refused.get() != null) {
                reader.fail(refused.get());
            }
        });
    }

    /** Reads a 2xx body into the stream; reports failures to it once; stops reading when cancelled. */
    private interface BodyReader {
        HttpResponse.BodySubscriber<Void> body(HttpResponse.ResponseInfo info);

        void fail(Throwable error);

        void cancel();
    }

    /** Server-sent events of a streamed answer. */
    private final class StreamReader implements BodyReader {
        private final CompletionStreamSubscriber subscriber;

        StreamReader(ParleyStream stream) {
            this.subscriber = new CompletionStreamSubscriber(stream, new ChunkParser(json));
        }

        @Override
        public HttpResponse.BodySubscriber<Void> body(HttpResponse.ResponseInfo info) {
            return BodySubscribers.fromSubscriber(subscriber);
        }

        @Override
        public void fail(Throwable error) {
            subscriber.fail(error);
        }

        @Override
        public void cancel() {
            subscriber.cancel();
        }
    }

    /**
     * The JSON body of a non-streamed answer; or, from a server that streams although asked not to, its events (the
     * answer then still reaches the handler whole, with tokens before it).
     */
    private final class AnswerReader implements BodyReader {
        private final ParleyStream stream;
        private final CompletionBodySubscriber whole;
        private volatile CompletionStreamSubscriber events;

        AnswerReader(ParleyStream stream) {
            this.stream = stream;
            this.whole = new CompletionBodySubscriber(stream, json, maxAnswerBytes);
        }

        @Override
        public HttpResponse.BodySubscriber<Void> body(HttpResponse.ResponseInfo info) {
            stream.responseStarted();
            String type = info.headers().firstValue("content-type").orElse("");
            if (type.toLowerCase(java.util.Locale.ROOT).startsWith("text/event-stream")) {
                CompletionStreamSubscriber s = new CompletionStreamSubscriber(stream, new ChunkParser(json));
                events = s;
                if (whole.cancelled()) {
                    s.cancel();
                }
                return BodySubscribers.fromSubscriber(s);
            }
            long declared = info.headers().firstValueAsLong("content-length").orElse(-1L);
            if (declared > maxAnswerBytes) {
                // Refused before a byte of it is read: the subscriber cancels its subscription at once.
                whole.fail(CompletionBodySubscriber.tooLarge(maxAnswerBytes));
            } else {
                whole.expect(declared);
            }
            return BodySubscribers.fromSubscriber(whole);
        }

        @Override
        public void fail(Throwable error) {
            CompletionStreamSubscriber s = events;
            if (s != null) {
                s.fail(error);
            } else {
                whole.fail(error);
            }
        }

        @Override
        public void cancel() {
            whole.cancel();
            CompletionStreamSubscriber s = events;
            if (s != null) {
                s.cancel();
            }
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    @Override
    public int estimateTokens(String model, List<ChatMessage> messages) {
        try {
            var counted = tokens.messages(model, messages);
            if (counted.isPresent()) {
                return counted.get();
            }
        } catch (RuntimeException e) {
            LOG.debug("event=token_estimate_failed model={}", model, e);
        }
        return ChatModelProvider.super.estimateTokens(model, messages);
    }

    private int estimateText(String model, String text) {
        return tokens.text(model, text).orElse((text.length() + 3) / 4);
    }

    /**
     * The base URL without what may be a credential (user info, query), for the log: some OpenAI-compatible gateways
     * take their key in the URL.
     */
    static String loggable(String url) {
        try {
            URI u = URI.create(url);
            if (u.getRawUserInfo() == null && u.getRawQuery() == null && u.getRawFragment() == null) {
                return url;
            }
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
        } catch (IllegalArgumentException | java.net.URISyntaxException e) {
            return "(unparsable)";
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}

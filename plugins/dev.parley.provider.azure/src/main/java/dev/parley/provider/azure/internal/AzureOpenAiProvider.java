package dev.parley.provider.azure.internal;

import com.openai.azure.AzureOpenAIServiceVersion;
import com.openai.azure.AzureUrlPathMode;
import com.openai.azure.credential.AzureApiKeyCredential;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.Sleeper;
import com.openai.core.Timeout;
import com.openai.core.http.AsyncStreamResponse;
import com.openai.credential.BearerTokenCredential;
import com.openai.credential.Credential;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chat and embedding models of one Azure OpenAI resource, through the official OpenAI Java SDK's Azure support
 * (deployment routes and {@code api-version}, the {@code api-key} header, bearer tokens). One instance per factory
 * configuration: several resources or keys run side by side, each with its own {@link #id()}.
 *
 * <p>Its service properties carry {@code parley.provider.id} (from {@code id}) and the non-secret settings; the
 * secrets ({@code .apiKey}, {@code .clientSecret}, {@code .bearerToken}) are dot-prefixed, so Declarative Services
 * never publishes them.
 */
@Component(
        service = {ChatModelProvider.class, EmbeddingProvider.class},
        configurationPid = AzureOpenAiConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        // Active while configured, not only while someone holds the service: a delayed component would be torn down
        // (client, threads, connection pool) whenever its last user let go, and answers in flight with it.
        immediate = true,
        // The default; a configuration sets it beside `id` so service filters can tell instances apart.
        property = AzureOpenAiProvider.PROVIDER_ID_PROPERTY + "=azure-openai")
@Designate(ocd = AzureOpenAiConfig.class, factory = true)
public final class AzureOpenAiProvider implements ChatModelProvider, EmbeddingProvider {

    static final String PROVIDER_ID_PROPERTY = "parley.provider.id";
    static final String API_KEY = ".apiKey";
    static final String CLIENT_SECRET = ".clientSecret";
    static final String BEARER_TOKEN = ".bearerToken";
    /** Azure's embedding deployments take at most 2048 inputs per request. */
    static final int EMBEDDING_BATCH = 2048;

    private static final Logger LOG = LoggerFactory.getLogger(AzureOpenAiProvider.class);

    private final String id;
    private final Deployments chat;
    private final Deployments embeddings;
    private final List<ModelDescriptor> models;
    private final List<EmbeddingModel> embeddingModels;
    private final boolean maxCompletionTokens;
    private final Duration answerTimeout;
    private final int maxAnswerChars;
    private final Duration drainTimeout;
    private final ExecutorService io;
    private final ExecutorService streams;
    private final ScheduledExecutorService scheduler;
    private final java.net.http.HttpClient tokenHttp;
    private final OpenAIClient client;
    /** One party for the provider, one per answer or embedding call running; see {@link #deactivate()}. */
    private final Phaser running = new Phaser(1);
    private final Set<AzureAnswer> answers = ConcurrentHashMap.newKeySet();

    @Activate
    public AzureOpenAiProvider(AzureOpenAiConfig config, Map<String, Object> properties) {
        this.id = blankToNull(config.id()) == null ? "azure-openai" : config.id().trim();
        String endpoint = blankToNull(config.endpoint());
        if (endpoint == null) {
            throw new IllegalArgumentException("provider " + id + ": endpoint is not set");
        }
        endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        URI endpointUri = URI.create(endpoint);
        if (endpointUri.getScheme() == null || endpointUri.getHost() == null || endpointUri.getRawUserInfo() != null
                || endpointUri.getRawQuery() != null) {
            throw new IllegalArgumentException("provider " + id + ": endpoint must be a plain http(s) URL");
        }
        this.chat = Deployments.parse(config.deployments(), false);
        this.embeddings = Deployments.parse(config.embeddingDeployments(), true);
        int maxOut = Math.max(1, config.maxOutputTokens());
        int window = Math.max(maxOut, config.contextWindow());
        this.models = chat.byModel().entrySet().stream()
                .map(e -> new ModelDescriptor(e.getKey(), id, e.getKey().equals(e.getValue()) ? e.getKey()
                        : e.getKey() + " (deployment " + e.getValue() + ")", window, maxOut))
                .toList();
        this.embeddingModels = embeddings.byModel().keySet().stream()
                .map(m -> new EmbeddingModel(m, id, embeddings.dimensions().getOrDefault(m, 1536), 8191,
                        EMBEDDING_BATCH, embeddings.dimensions().containsKey(m) || m.contains("-3-")))
                .toList();
        this.maxCompletionTokens = config.maxCompletionTokens();
        this.answerTimeout = Duration.ofSeconds(Math.max(1, config.answerTimeoutSeconds()));
        this.maxAnswerChars = Math.max(1024, config.maxAnswerChars());
        this.drainTimeout = Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds()));
        Duration connectTimeout = Duration.ofSeconds(Math.max(1, config.connectTimeoutSeconds()));

        String auth = Objects.requireNonNullElse(blankToNull(config.auth()), "api-key");
        // Everything that can be wrong with the settings is refused before a thread is started.
        switch (auth) {
            case "api-key" -> secret(config._apiKey(), API_KEY, auth);
            case "bearer-token" -> secret(config._bearerToken(), BEARER_TOKEN, auth);
            case "entra-client-credentials" -> {
                secret(config._clientSecret(), CLIENT_SECRET, auth);
                if (blankToNull(config.tenantId()) == null || blankToNull(config.clientId()) == null) {
                    throw new IllegalArgumentException("auth " + auth + " needs tenantId and clientId");
                }
            }
            default -> throw new IllegalArgumentException("provider " + id + ": auth must be api-key, "
                    + "entra-client-credentials or bearer-token, not " + auth);
        }
        boolean v1 = "v1".equals(blankToNull(config.pathStyle()));

        this.io = Executors.newCachedThreadPool(threads("parley-azure-io-" + id));
        this.streams = Executors.newCachedThreadPool(threads("parley-azure-stream-" + id));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(threads("parley-azure-timer-" + id));
        try {
            this.tokenHttp = java.net.http.HttpClient.newBuilder().connectTimeout(connectTimeout).executor(io).build();
            this.client = client(config, auth, endpoint, v1, connectTimeout);
        } catch (RuntimeException e) {
            scheduler.shutdownNow();
            streams.shutdownNow();
            io.shutdownNow();
            throw e;
        }
        Object serviceId = properties.get(PROVIDER_ID_PROPERTY);
        if (serviceId != null && !id.equals(serviceId)) {
            LOG.warn("event=provider_id_mismatch provider={} {}={}", id, PROVIDER_ID_PROPERTY, serviceId);
        }
        if (models.isEmpty() && embeddingModels.isEmpty()) {
            LOG.warn("event=no_deployments provider={} hint=\"set deployments (model=deployment); Azure's data plane "
                    + "lists no deployments\"", id);
        }
        LOG.info("event=provider_activated provider={} endpoint={} paths={} auth={} chatModels={} embeddingModels={}",
                id, endpoint, v1 ? "v1" : "deployments", auth, chat.byModel().keySet(), embeddings.byModel().keySet());
    }

    private OpenAIClient client(AzureOpenAiConfig config, String auth, String endpoint, boolean v1,
            Duration connectTimeout) {
        Credential credential = switch (auth) {
            case "api-key" -> AzureApiKeyCredential.create(secret(config._apiKey(), API_KEY, auth));
            case "bearer-token" -> BearerTokenCredential.create(secret(config._bearerToken(), BEARER_TOKEN, auth));
            default -> BearerTokenCredential.create(new EntraTokenSource(
                    Objects.requireNonNullElse(blankToNull(config.authorityHost()), "https://login.microsoftonline.com"),
                    config.tenantId(), config.clientId(), secret(config._clientSecret(), CLIENT_SECRET, auth),
                    Objects.requireNonNullElse(blankToNull(config.tokenScope()),
                            "https://cognitiveservices.azure.com/.default"),
                    tokenHttp, connectTimeout.plusSeconds(20), Clock.systemUTC()));
        };
        var builder = OpenAIOkHttpClient.builder()
                .credential(credential)
                // The router retries and falls back; a retry inside the SDK would hide errors and double the wait.
                .maxRetries(0)
                .timeout(Timeout.builder().connect(connectTimeout).read(answerTimeout).write(answerTimeout)
                        .request(answerTimeout.plusSeconds(5)).build())
                .dispatcherExecutorService(io)
                .streamHandlerExecutor(streams)
                .sleeper(new SchedulerSleeper(scheduler));
        if (v1) {
            // The GA v1 routes: {endpoint}/openai/v1/chat/completions, the deployment in the body's "model".
            builder.baseUrl(endpoint + "/openai/v1").azureUrlPathMode(AzureUrlPathMode.UNIFIED);
        } else {
            // {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...
            builder.baseUrl(endpoint).azureUrlPathMode(AzureUrlPathMode.LEGACY)
                    .azureServiceVersion(AzureOpenAIServiceVersion.fromString(
                            Objects.requireNonNullElse(blankToNull(config.apiVersion()), "2024-10-21")));
        }
        return builder.build();
    }

    @Deactivate
    void deactivate() {
        int phase = running.arriveAndDeregister();
        try {
            running.awaitAdvanceInterruptibly(phase, drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("event=provider_drain_timeout provider={} answers={}", id, answers.size());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (AzureAnswer a : answers) {
            a.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider stopped before the answer finished"));
        }
        client.close();
        scheduler.shutdownNow();
        streams.shutdownNow();
        io.shutdownNow();
        LOG.info("event=provider_deactivated provider={}", id);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return embeddingModels;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, true);
    }

    /** One non-streamed upstream call: no tokens, the whole answer in {@code onComplete}. */
    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, false);
    }

    private StreamHandle start(ChatRequest request, ChatStreamHandler handler, boolean streamed) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        String model = request.model();
        AzureAnswer answer = new AzureAnswer(handler, model, maxAnswerChars);
        String deployment = chat.deploymentOf(model);
        if (deployment == null) {
            answer.fail(new ParleyException(ErrorCode.MODEL_NOT_FOUND, "provider " + id + " has no deployment for model '"
                    + model + "'"));
            return answer;
        }
        ChatCompletionCreateParams params;
        try {
            params = RequestMapper.map(request, deployment, streamed, maxCompletionTokens);
        } catch (ParleyException e) {
            answer.fail(e);
            return answer;
        }
        if (io.isShutdown() || running.register() < 0) {
            answer.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider is shutting down"));
            return answer;
        }
        answers.add(answer);
        ScheduledFuture<?> deadline = scheduler.schedule(() -> answer.fail(new ParleyException(
                ErrorCode.UPSTREAM_TIMEOUT, "Azure OpenAI did not finish the answer within " + answerTimeout.toSeconds()
                        + " s")), answerTimeout.toMillis(), TimeUnit.MILLISECONDS);
        answer.whenEnded(() -> {
            deadline.cancel(false);
            answers.remove(answer);
            running.arriveAndDeregister();
        });
        try {
            if (streamed) {
                AsyncStreamResponse<ChatCompletionChunk> response = client.async().chat().completions()
                        .createStreaming(params);
                java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean();
                // Before the first chunk nobody reads the response, so closing it here is safe and stops the call.
                // Once chunks flow, the reading thread stops at the next chunk (onNext throws) and the SDK closes the
                // response on that thread: closing it from here would race with the read and may not drop the
                // connection.
                answer.attach(() -> {
                    if (!reading.get()) {
                        response.close();
                    }
                });
                // The handler runs on the SDK's stream thread (this provider's `streams` pool), chunk by chunk.
                response.subscribe(new AsyncStreamResponse.Handler<ChatCompletionChunk>() {
                    @Override
                    public void onNext(ChatCompletionChunk chunk) {
                        reading.set(true);
                        if (answer.isEnded()) {
                            // Cancelled, timed out or failed: stop reading. The SDK then closes the response on this
                            // thread, which drops the connection (OkHttp does not reuse a half-read stream).
                            throw new java.util.concurrent.CancellationException("the answer has ended");
                        }
                        answer.onChunk(chunk);
                    }

                    @Override
                    public void onComplete(Optional<Throwable> error) {
                        answer.onStreamEnd(error.map(AzureOpenAiProvider::unwrap));
                    }
                }, Runnable::run);
            } else {
                CompletableFuture<ChatCompletion> future = client.async().chat().completions().create(params);
                answer.attach(() -> future.cancel(true));
                future.whenComplete((completion, error) -> {
                    if (error != null) {
                        answer.fail(AzureErrors.map(unwrap(error), model));
                    } else {
                        answer.onCompletion(completion);
                    }
                });
            }
        } catch (RuntimeException e) {
            answer.fail(AzureErrors.map(e, model));
        }
        return answer;
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Objects.requireNonNull(request, "request");
        String deployment = embeddings.deploymentOf(request.model());
        if (deployment == null) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "provider " + id + " has no embedding deployment for model '" + request.model() + "'"));
        }
        if (request.inputs().size() > EMBEDDING_BATCH) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.INVALID_REQUEST,
                    "at most " + EMBEDDING_BATCH + " inputs per request, got " + request.inputs().size()));
        }
        if (io.isShutdown() || running.register() < 0) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the provider is shutting down"));
        }
        CompletableFuture<EmbeddingResponse> result = new CompletableFuture<>();
        result.whenComplete((r, e) -> running.arriveAndDeregister());
        try {
            var params = EmbeddingCreateParams.builder().model(deployment)
                    .inputOfArrayOfStrings(request.inputs())
                    // Floats as JSON numbers: what every Azure api-version documents.
                    .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT);
            if (request.dimensions() != null) {
                params.dimensions(request.dimensions().longValue());
            }
            CompletableFuture<CreateEmbeddingResponse> call = client.async().embeddings().create(params.build());
            ScheduledFuture<?> deadline = scheduler.schedule(() -> {
                if (result.completeExceptionally(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                        "Azure OpenAI did not answer the embedding request in time"))) {
                    call.cancel(true);
                }
            }, answerTimeout.toMillis(), TimeUnit.MILLISECONDS);
            call.whenComplete((response, error) -> {
                deadline.cancel(false);
                if (error != null) {
                    result.completeExceptionally(AzureErrors.map(unwrap(error), request.model()));
                    return;
                }
                try {
                    result.complete(toEmbeddings(response, request));
                } catch (RuntimeException e) {
                    result.completeExceptionally(AzureErrors.map(e, request.model()));
                }
            });
        } catch (RuntimeException e) {
            result.completeExceptionally(AzureErrors.map(e, request.model()));
        }
        return result;
    }

    private static EmbeddingResponse toEmbeddings(CreateEmbeddingResponse response, EmbeddingRequest request) {
        List<Embedding> out = new ArrayList<>();
        for (var e : response.data()) {
            List<Float> values = e.embedding();
            float[] v = new float[values.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = values.get(i);
            }
            out.add(new Embedding((int) e.index(), v));
        }
        out.sort((a, b) -> Integer.compare(a.index(), b.index()));
        if (out.size() != request.inputs().size()) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Azure OpenAI returned " + out.size()
                    + " embeddings for " + request.inputs().size() + " inputs");
        }
        return new EmbeddingResponse(request.model(), out, (int) response.usage().promptTokens());
    }

    private static String secret(String value, String key, String auth) {
        String s = blankToNull(value);
        if (s == null) {
            throw new IllegalArgumentException("auth " + auth + " needs the secret " + key);
        }
        return s;
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
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

    /** The SDK's retry pauses on this provider's scheduler instead of a Timer thread of the SDK's own. */
    private record SchedulerSleeper(ScheduledExecutorService scheduler) implements Sleeper {
        @Override
        public void sleep(Duration duration) {
            try {
                Thread.sleep(duration.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public CompletableFuture<Void> sleepAsync(Duration duration) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            scheduler.schedule(() -> f.complete(null), duration.toMillis(), TimeUnit.MILLISECONDS);
            return f;
        }

        @Override
        public void close() {
            // the scheduler is the provider's, shut down on deactivate
        }
    }
}

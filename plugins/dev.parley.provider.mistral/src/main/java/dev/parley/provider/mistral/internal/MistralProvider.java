package dev.parley.provider.mistral.internal;

import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatCompletionRequest;
import dev.langchain4j.model.mistralai.internal.api.MistralAiChatCompletionResponse;
import dev.langchain4j.model.mistralai.internal.api.MistralAiEmbedding;
import dev.langchain4j.model.mistralai.internal.api.MistralAiEmbeddingRequest;
import dev.langchain4j.model.mistralai.internal.api.MistralAiEmbeddingResponse;
import dev.langchain4j.model.mistralai.internal.api.MistralAiModelCard;
import dev.langchain4j.model.mistralai.internal.api.MistralAiModelResponse;
import dev.langchain4j.model.mistralai.internal.client.DefaultMistralAiClient;
import dev.langchain4j.model.mistralai.internal.client.MistralAiClient;
import dev.langchain4j.model.mistralai.internal.client.ParsedAndRawResponse;
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
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chat and embedding models of one Mistral AI account (or a server speaking La Plateforme's API), through
 * langchain4j-mistral-ai's client ({@link DefaultMistralAiClient}) over this plugin's own {@link MistralTransport}.
 *
 * <p>A factory component: every configuration of {@link MistralProviderConfig#FACTORY_PID} is one instance with its
 * own id, key, base URL and models. When an instance stops (upgrade, reconfiguration, shutdown) answers already
 * streaming finish on it for up to the drain timeout; the rest end with {@code UNAVAILABLE}.
 */
@Component(
        service = {ChatModelProvider.class, EmbeddingProvider.class},
        configurationPid = MistralProviderConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        // Immediate: the instance keeps its model list, connections and running answers while no one holds the
        // service; a delayed component would be torn down whenever its last user let go of it.
        immediate = true)
@Designate(ocd = MistralProviderConfig.class, factory = true)
public final class MistralProvider implements ChatModelProvider, EmbeddingProvider {

    static final Duration MODEL_REFRESH = Duration.ofMinutes(10);
    static final int EMBEDDING_BATCH = 128;

    private static final Logger LOG = LoggerFactory.getLogger(MistralProvider.class);

    private final String id;
    private final Settings settings;
    private final ExecutorService io;
    private final ScheduledExecutorService scheduler;
    private final java.net.http.HttpClient http;
    private final MistralTransport transport;
    private final MistralAiClient client;
    private final Set<MistralCall> calls = ConcurrentHashMap.newKeySet();
    private final Object drained = new Object();
    private volatile boolean stopping;
    private volatile List<ModelDescriptor> models = List.of();
    private final List<EmbeddingModel> embeddingModels;

    /** The settings of one instance, read once from its configuration. */
    record Settings(String id, String baseUrl, String apiKey, List<String> models, List<String> embeddingModels,
            List<String> visionModels, int contextWindow, int maxOutputTokens, Duration connectTimeout,
            Duration answerTimeout, long maxAnswerBytes, Duration drainTimeout, boolean safePrompt,
            Integer randomSeed) {

        static Settings of(MistralProviderConfig c, Map<String, Object> properties) {
            Object key = properties.get(MistralProviderConfig.API_KEY);
            String apiKey = key instanceof String k && !k.isBlank() ? k.trim() : null;
            if (apiKey == null && key instanceof char[] chars && chars.length > 0) {
                apiKey = new String(chars).trim();
            }
            String url = blankToNull(c.baseUrl());
            url = url == null ? "https://api.mistral.ai/v1" : url;
            url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            int maxOut = Math.max(1, c.defaultMaxOutputTokens());
            return new Settings(
                    Objects.requireNonNullElse(blankToNull(c.id()), "mistral"),
                    url,
                    apiKey,
                    list(c.models()),
                    list(c.embeddingModels()),
                    list(c.visionModels()),
                    Math.max(maxOut, c.defaultContextWindow()),
                    maxOut,
                    Duration.ofSeconds(Math.max(1, c.connectTimeoutSeconds())),
                    Duration.ofSeconds(Math.max(1, c.answerTimeoutSeconds())),
                    Math.max(1024, c.maxAnswerBytes()),
                    Duration.ofSeconds(Math.max(0, c.drainTimeoutSeconds())),
                    c.safePrompt(),
                    c.randomSeed() < 0 ? null : c.randomSeed());
        }
    }

    @Activate
    public MistralProvider(MistralProviderConfig config, Map<String, Object> properties) {
        this(Settings.of(config, properties));
    }

    MistralProvider(Settings settings) {
        this.settings = settings;
        this.id = settings.id();
        this.io = Executors.newCachedThreadPool(threads("parley-mistral-io-" + id));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(threads("parley-mistral-timer-" + id));
        this.http = java.net.http.HttpClient.newBuilder()
                .connectTimeout(settings.connectTimeout())
                .executor(io)
                .build();
        this.transport = new MistralTransport(http, io, settings.answerTimeout());
        // The library insists on a key; a missing one is sent as "none" and answered 401 (PROVIDER_AUTH) by Mistral.
        this.client = DefaultMistralAiClient.builder()
                .baseUrl(settings.baseUrl())
                .apiKey(settings.apiKey() == null ? "none" : settings.apiKey())
                .httpClientBuilder(new MistralTransport.Builder(transport))
                .logRequests(false)
                .logResponses(false)
                .build();
        this.embeddingModels = embeddingDescriptors(settings.embeddingModels());
        if (settings.models().isEmpty()) {
            io.execute(this::refreshModels);
            scheduler.scheduleWithFixedDelay(() -> submit(this::refreshModels), MODEL_REFRESH.toSeconds(),
                    MODEL_REFRESH.toSeconds(), TimeUnit.SECONDS);
        } else {
            this.models = descriptors(settings.models());
        }
        LOG.info("event=provider_activated provider={} plugin=mistral baseUrl={} apiKey={} models={}", id,
                settings.baseUrl(), settings.apiKey() == null ? "none" : "set",
                settings.models().isEmpty() ? "from-upstream" : settings.models());
    }

    @Deactivate
    void deactivate() {
        stopping = true;
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        synchronized (drained) {
            long left;
            while (!calls.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(drained, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        int cut = 0;
        for (MistralCall c : List.copyOf(calls)) {
            c.abort(new ParleyException(ErrorCode.UNAVAILABLE, "the Mistral provider stopped before the answer finished"));
            cut++;
        }
        scheduler.shutdownNow();
        io.shutdownNow();
        try {
            io.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // JDK 21+ can close the client (its selector thread ends now); on 17 it ends once the client is unreachable.
        if (http instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception ignored) {
                // closing is best effort
            }
        }
        LOG.info("event=provider_deactivated provider={} plugin=mistral cutOff={}", id, cut);
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
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        MistralCall call = start(handler);
        if (call.ended()) {
            return call;
        }
        MistralAiChatCompletionRequest upstream;
        try {
            upstream = MistralRequests.toMistral(request, true, settings.safePrompt() ? Boolean.TRUE : null,
                    settings.randomSeed());
        } catch (ParleyException e) {
            call.fail(e);
            return call;
        }
        String model = request.model();
        StreamingChatResponseHandler listener = new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partialResponse) {
                call.token(partialResponse);
            }

            /**
             * Mistral sends each tool call whole (its arguments are never split), all in one chunk; the library hands
             * each on as that chunk arrives.
             */
            @Override
            public void onCompleteToolCall(CompleteToolCall complete) {
                var r = complete.toolExecutionRequest();
                call.toolCall(r.id(), r.name(), r.arguments());
            }

            @Override
            public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse response) {
                try {
                    call.complete(MistralResponses.fromStream(response, call.exchange(), model));
                } catch (RuntimeException e) {
                    call.fail(MistralErrors.map(e, model));
                }
            }

            @Override
            public void onError(Throwable error) {
                call.fail(MistralErrors.map(error, model));
            }
        };
        try {
            transport.bind(call.exchange(), () -> {
                client.streamingChatCompletion(upstream, listener);
                return null;
            });
        } catch (RuntimeException e) {
            call.abort(MistralErrors.map(e, model));
        }
        return call;
    }

    /** One non-streamed upstream call ({@code "stream": false}); no tokens, then the whole answer. */
    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        MistralCall call = start(handler);
        if (call.ended()) {
            return call;
        }
        MistralAiChatCompletionRequest upstream;
        try {
            upstream = MistralRequests.toMistral(request, false, settings.safePrompt() ? Boolean.TRUE : null,
                    settings.randomSeed());
        } catch (ParleyException e) {
            call.fail(e);
            return call;
        }
        String model = request.model();
        submit(() -> {
            try {
                ParsedAndRawResponse<MistralAiChatCompletionResponse> r = transport.bind(call.exchange(),
                        () -> client.chatCompletionWithRawResponse(upstream));
                String raw = r.rawResponse() == null ? null : r.rawResponse().body();
                call.complete(MistralResponses.fromCompletion(r.parsedResponse(), raw, model));
            } catch (RuntimeException e) {
                call.fail(MistralErrors.map(e, model));
            }
        }, call);
        return call;
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Objects.requireNonNull(request, "request");
        CompletableFuture<EmbeddingResponse> result = new CompletableFuture<>();
        EmbeddingModel model = embeddingModels.stream().filter(m -> m.id().equals(request.model())).findFirst()
                .orElse(null);
        if (model == null) {
            result.completeExceptionally(new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "provider '" + id + "' has no embedding model '" + request.model() + "'"));
            return result;
        }
        if (request.dimensions() != null && request.dimensions() != model.dimensions()) {
            // Mistral's output_dimension (codestral-embed) cannot be sent through langchain4j-mistral-ai 1.18.
            result.completeExceptionally(new ParleyException(ErrorCode.INVALID_REQUEST, "model '" + model.id()
                    + "' gives " + model.dimensions() + "-dimensional vectors here; other dimensions are not supported"));
            return result;
        }
        if (request.inputs().size() > model.maxBatchSize()) {
            result.completeExceptionally(new ParleyException(ErrorCode.INVALID_REQUEST, "at most "
                    + model.maxBatchSize() + " inputs per call to model '" + model.id() + "'"));
            return result;
        }
        if (stopping) {
            result.completeExceptionally(new ParleyException(ErrorCode.UNAVAILABLE, "the Mistral provider is stopping"));
            return result;
        }
        Exchange ex = new Exchange(settings.maxAnswerBytes());
        var timeout = scheduler.schedule(() -> {
            if (ex.abort(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Mistral did not answer in time"))) {
                result.completeExceptionally(ex.abortReason());
            }
        }, settings.answerTimeout().toMillis(), TimeUnit.MILLISECONDS);
        result.whenComplete((r, e) -> timeout.cancel(false));
        try {
            io.execute(() -> {
                try {
                    MistralAiEmbeddingResponse r = transport.bind(ex, () -> client.embedding(MistralAiEmbeddingRequest
                            .builder().model(model.id()).input(request.inputs()).encodingFormat("float").build()));
                    result.complete(toEmbeddings(r, request, model));
                } catch (RuntimeException e) {
                    result.completeExceptionally(MistralErrors.map(e, model.id()));
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new ParleyException(ErrorCode.UNAVAILABLE, "the Mistral provider is stopping"));
        }
        return result;
    }

    private static EmbeddingResponse toEmbeddings(MistralAiEmbeddingResponse r, EmbeddingRequest request,
            EmbeddingModel model) {
        if (r == null || r.getData() == null || r.getData().size() != request.inputs().size()) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Mistral answered " + (r == null || r.getData() == null
                    ? 0 : r.getData().size()) + " embeddings for " + request.inputs().size() + " inputs");
        }
        List<Embedding> out = new ArrayList<>(r.getData().size());
        for (int i = 0; i < r.getData().size(); i++) {
            MistralAiEmbedding e = r.getData().get(i);
            List<Float> v = e.getEmbedding();
            if (v == null || v.isEmpty()) {
                throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Mistral answered an empty embedding");
            }
            float[] vector = new float[v.size()];
            for (int j = 0; j < vector.length; j++) {
                vector[j] = v.get(j);
            }
            out.add(new Embedding(e.getIndex() == null ? i : e.getIndex(), vector));
        }
        out.sort((a, b) -> Integer.compare(a.index(), b.index()));
        int tokens = r.getUsage() == null || r.getUsage().getPromptTokens() == null ? 0 : r.getUsage().getPromptTokens();
        return new EmbeddingResponse(r.getModel() == null ? model.id() : r.getModel(), out, tokens);
    }

    /** A new call, registered for the drain and bounded by the answer timeout; ended at once if stopping. */
    private MistralCall start(ChatStreamHandler handler) {
        MistralCall call = new MistralCall(handler, new Exchange(settings.maxAnswerBytes()), this::ended);
        if (stopping) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Mistral provider is stopping"));
            return call;
        }
        calls.add(call);
        try {
            call.timeout(scheduler.schedule(() -> call.abort(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "Mistral did not finish the answer within " + settings.answerTimeout().toSeconds() + " s")),
                    settings.answerTimeout().toMillis(), TimeUnit.MILLISECONDS));
        } catch (RejectedExecutionException e) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Mistral provider is stopping"));
        }
        return call;
    }

    private void ended(MistralCall call) {
        if (calls.remove(call)) {
            synchronized (drained) {
                drained.notifyAll();
            }
        }
    }

    private void submit(Runnable task, MistralCall call) {
        try {
            io.execute(task);
        } catch (RejectedExecutionException e) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Mistral provider is stopping"));
        }
    }

    private void submit(Runnable task) {
        try {
            io.execute(task);
        } catch (RejectedExecutionException stopping) {
            // the provider is stopping; nothing to refresh
        }
    }

    /** GET /models: the chat models the key may use (embedding, moderation and OCR models left out). */
    void refreshModels() {
        try {
            Exchange ex = new Exchange(settings.maxAnswerBytes());
            var timeout = scheduler.schedule(() -> ex.abort(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "Mistral did not list its models in time")), settings.connectTimeout().toMillis() * 3,
                    TimeUnit.MILLISECONDS);
            MistralAiModelResponse r;
            try {
                r = transport.bind(ex, client::listModels);
            } finally {
                timeout.cancel(false);
            }
            List<String> ids = new ArrayList<>();
            if (r != null && r.getData() != null) {
                for (MistralAiModelCard card : r.getData()) {
                    String mid = card.getId();
                    if (mid != null && isChatModel(mid) && !ids.contains(mid)) {
                        ids.add(mid);
                    }
                }
            }
            this.models = descriptors(ids);
            LOG.info("event=models_listed provider={} count={}", id, ids.size());
        } catch (RuntimeException e) {
            ParleyException p = MistralErrors.map(e, "");
            LOG.warn("event=models_list_failed provider={} code={} message=\"{}\"", id, p.code().slug(),
                    p.getMessage());
        }
    }

    static boolean isChatModel(String modelId) {
        String m = modelId.toLowerCase(Locale.ROOT);
        return !m.contains("embed") && !m.contains("moderation") && !m.contains("ocr");
    }

    List<ModelDescriptor> descriptors(List<String> ids) {
        List<ModelDescriptor> out = new ArrayList<>(ids.size());
        for (String mid : ids) {
            EnumSet<ModelCapability> caps = EnumSet.of(ModelCapability.TOOLS, ModelCapability.JSON_OUTPUT);
            if (matchesAny(mid, settings.visionModels())) {
                caps.add(ModelCapability.VISION);
            }
            out.add(new ModelDescriptor(mid, id, mid, settings.contextWindow(), settings.maxOutputTokens(), caps));
        }
        return List.copyOf(out);
    }

    private List<EmbeddingModel> embeddingDescriptors(List<String> ids) {
        List<EmbeddingModel> out = new ArrayList<>(ids.size());
        for (String mid : ids) {
            // mistral-embed: 1024 dimensions, 8k tokens per input; codestral-embed: 1536 by default.
            int dims = mid.startsWith("codestral-embed") ? 1536 : 1024;
            out.add(new EmbeddingModel(mid, id, dims, 8192, EMBEDDING_BATCH, false));
        }
        return List.copyOf(out);
    }

    static boolean matchesAny(String modelId, List<String> patterns) {
        for (String p : patterns) {
            if (p.endsWith("*") ? modelId.startsWith(p.substring(0, p.length() - 1)) : modelId.equals(p)) {
                return true;
            }
        }
        return false;
    }

    private static List<String> list(String[] values) {
        return values == null ? List.of()
                : Arrays.stream(values).map(String::trim).filter(s -> !s.isEmpty()).distinct().toList();
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

package dev.parley.provider.gemini.internal;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.catalog.ModelDescription;
import dev.langchain4j.model.catalog.ModelType;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.googleai.GoogleAiEmbeddingModel;
import dev.langchain4j.model.googleai.GoogleAiGeminiChatModel;
import dev.langchain4j.model.googleai.GoogleAiGeminiModelCatalog;
import dev.langchain4j.model.googleai.GoogleAiGeminiStreamingChatModel;
import dev.langchain4j.model.output.Response;
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
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * Gemini chat models and embeddings through the Gemini API, driven by langchain4j's Gemini module (embedded in this
 * bundle) over {@link GeminiTransport}. One instance per factory configuration; several run side by side.
 *
 * <p>Threads: one cached pool per instance runs the JDK HTTP client's work, reads the streams and makes the
 * blocking whole-answer and embedding calls; one scheduler fires answer timeouts and model-list retries. Both stop
 * on deactivate, after the answers in flight have drained (up to the drain timeout) or been cut.
 */
@Component(
        service = {ChatModelProvider.class, EmbeddingProvider.class},
        configurationPid = GeminiConfig.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        // Immediate: the instance (its threads, its model list) lives as long as its configuration, not as long as
        // someone holds the service.
        immediate = true)
@Designate(ocd = GeminiConfig.class, factory = true)
public final class GeminiProvider implements ChatModelProvider, EmbeddingProvider {

    static final String API_KEY = ".apiKey";
    static final List<String> FALLBACK_MODELS = List.of("gemini-2.5-flash", "gemini-2.5-pro");
    private static final Logger LOG = LoggerFactory.getLogger(GeminiProvider.class);
    private static final Set<ModelCapability> CHAT_CAPABILITIES =
            EnumSet.of(ModelCapability.TOOLS, ModelCapability.VISION, ModelCapability.JSON_OUTPUT);
    /** batchEmbedContents takes at most 100 requests. */
    private static final int EMBED_BATCH = 100;

    private final String id;
    private final String apiKey;
    private final String baseUrl;
    private final GeminiConfig config;
    private final ExecutorService executor;
    private final ScheduledExecutorService scheduler;
    private final java.net.http.HttpClient http;
    private final GeminiTransport transport;
    private final GoogleAiGeminiStreamingChatModel streaming;
    private final GoogleAiGeminiChatModel whole;
    private final List<EmbeddingModel> embeddingModels;
    private final Set<GeminiCall> active = new HashSet<>();
    private volatile List<ModelDescriptor> models;
    private volatile boolean stopping;

    @Activate
    public GeminiProvider(GeminiConfig config, Map<String, Object> properties) {
        this.config = config;
        this.id = requireText(config.id(), "id");
        Object key = properties.get(API_KEY);
        this.apiKey = key instanceof String k && !k.isBlank() ? k.trim() : null;
        if (apiKey == null) {
            throw new IllegalArgumentException("Gemini provider '" + id + "' has no API key (.apiKey)");
        }
        this.baseUrl = stripSlash(requireText(config.baseUrl(), "baseUrl"));
        URI base = URI.create(baseUrl);
        if (base.getScheme() == null || base.getHost() == null) {
            throw new IllegalArgumentException("baseUrl is not an absolute http(s) URL");
        }
        this.executor = Executors.newCachedThreadPool(threads("parley-gemini-" + id));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(threads("parley-gemini-" + id + "-timer"));
        java.net.http.HttpClient.Builder hb = java.net.http.HttpClient.newBuilder()
                .executor(executor)
                .connectTimeout(Duration.ofSeconds(config.connectTimeoutSeconds()));
        if ("http".equals(base.getScheme())) {
            hb.version(java.net.http.HttpClient.Version.HTTP_1_1);
        }
        this.http = hb.build();
        Duration answerTimeout = Duration.ofSeconds(config.answerTimeoutSeconds());
        this.transport = new GeminiTransport(http, executor, apiKey, answerTimeout);
        this.streaming = GoogleAiGeminiStreamingChatModel.builder()
                .httpClientBuilder(transport.builder()).apiKey(apiKey).baseUrl(baseUrl)
                .modelName(FALLBACK_MODELS.get(0)).timeout(answerTimeout)
                .logRequestsAndResponses(false).build();
        this.whole = GoogleAiGeminiChatModel.builder()
                .httpClientBuilder(transport.builder()).apiKey(apiKey).baseUrl(baseUrl)
                .modelName(FALLBACK_MODELS.get(0)).timeout(answerTimeout).maxRetries(0)
                .logRequestsAndResponses(false).build();
        this.embeddingModels = embeddingModels(config.embeddingModels(), id);
        List<String> configured = clean(config.models());
        if (configured.isEmpty()) {
            this.models = descriptors(FALLBACK_MODELS);
            executor.execute(this::listModels);
        } else {
            this.models = descriptors(configured);
        }
        // Never the key: only whether one is set.
        LOG.info("event=provider_activated provider={} baseUrl={} apiKey=set models={} embeddingModels={}", id,
                base.getScheme() + "://" + base.getHost() + (base.getPort() > 0 ? ":" + base.getPort() : ""),
                configured.isEmpty() ? "from-upstream" : configured,
                embeddingModels.stream().map(EmbeddingModel::id).toList());
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        List<GeminiCall> unfinished;
        synchronized (active) {
            stopping = true;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(config.drainTimeoutSeconds());
            long left;
            while (!active.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(active, left);
            }
            unfinished = new ArrayList<>(active);
        }
        for (GeminiCall call : unfinished) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Gemini provider stopped before the answer finished"));
        }
        scheduler.shutdownNow();
        executor.shutdownNow();
        // Both: deactivation returns only once no thread of this instance runs any more.
        scheduler.awaitTermination(5, TimeUnit.SECONDS);
        executor.awaitTermination(5, TimeUnit.SECONDS);
        if (http instanceof AutoCloseable closeable) { // Java 21+: stop the client's selector thread now
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.debug("event=http_client_close_failed provider={}", id, e);
            }
        }
        LOG.info("event=provider_deactivated provider={} cutOff={}", id, unfinished.size());
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    // ---- chat ---------------------------------------------------------------------------------------------------

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        GeminiCall call = start(request, handler);
        if (call.ended()) {
            return call;
        }
        dev.langchain4j.model.chat.request.ChatRequest mapped;
        try {
            mapped = RequestMapper.map(request);
        } catch (ParleyException e) {
            call.fail(e);
            return call;
        }
        transport.bind(call);
        try {
            streaming.chat(mapped, new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partial) {
                    call.token(partial);
                }

                /**
                 * Gemini sends each function call whole in one event (its args are never split), and langchain4j
                 * hands each on as the event arrives: one piece per call, before the answer ends.
                 */
                @Override
                public void onCompleteToolCall(CompleteToolCall complete) {
                    ToolCall c = toolCall(complete.index(), complete.toolExecutionRequest());
                    call.toolCall(new ToolCallDelta(complete.index(), c.id(), c.name(), c.argumentsJson()));
                }

                @Override
                public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse response) {
                    finish(call, response);
                }

                @Override
                public void onError(Throwable error) {
                    call.fail(GeminiErrors.fromThrowable(error, apiKey));
                }
            });
        } catch (RuntimeException e) {
            call.fail(mapRequestFailure(e));
        } finally {
            transport.unbind();
        }
        return call;
    }

    /** One non-streamed {@code generateContent} call, made on this instance's pool (the client blocks). */
    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        GeminiCall call = start(request, handler);
        if (call.ended()) {
            return call;
        }
        dev.langchain4j.model.chat.request.ChatRequest mapped;
        try {
            mapped = RequestMapper.map(request);
        } catch (ParleyException e) {
            call.fail(e);
            return call;
        }
        try {
            executor.execute(() -> {
                transport.bind(call);
                try {
                    finish(call, whole.chat(mapped));
                } catch (RuntimeException e) {
                    call.fail(mapRequestFailure(e));
                } finally {
                    transport.unbind();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Gemini provider is stopping"));
        }
        return call;
    }

    private GeminiCall start(ChatRequest request, ChatStreamHandler handler) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        GeminiCall call = new GeminiCall(handler, request.model(), apiKey, config.maxAnswerBytes(), this::ended);
        synchronized (active) {
            if (stopping) {
                call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Gemini provider is stopping"));
                return call;
            }
            active.add(call);
        }
        try {
            call.timeout(scheduler.schedule(() -> call.fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "Gemini did not finish the answer within " + config.answerTimeoutSeconds() + " s")),
                    config.answerTimeoutSeconds(), TimeUnit.SECONDS));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Gemini provider is stopping"));
        }
        return call;
    }

    private void ended(GeminiCall call) {
        synchronized (active) {
            if (active.remove(call)) {
                active.notifyAll();
            }
        }
    }

    /** Hands langchain4j's assembled answer to the call, with ids for the function calls. */
    private void finish(GeminiCall call, dev.langchain4j.model.chat.response.ChatResponse response) {
        var ai = response.aiMessage();
        List<ToolCall> calls = new ArrayList<>();
        if (ai != null && ai.hasToolExecutionRequests()) {
            int i = 0;
            for (ToolExecutionRequest r : ai.toolExecutionRequests()) {
                calls.add(toolCall(i, r));
                i++;
            }
        }
        call.complete(ai == null ? "" : ai.text(), calls);
    }

    /** The {@code index}th function call of an answer; Gemini gives no ids, so it gets one (the same each time). */
    private static ToolCall toolCall(int index, ToolExecutionRequest r) {
        String callId = r.id() == null || r.id().isBlank() ? RequestMapper.toolCallId(index, r.name()) : r.id();
        return new ToolCall(callId, r.name(), r.arguments());
    }

    private ParleyException mapRequestFailure(RuntimeException e) {
        if (e instanceof IllegalArgumentException iae) {
            return new ParleyException(ErrorCode.INVALID_REQUEST,
                    GeminiErrors.scrub("the request cannot be sent to Gemini: " + iae.getMessage(), apiKey), e);
        }
        return GeminiErrors.fromThrowable(e, apiKey);
    }

    // ---- models -------------------------------------------------------------------------------------------------

    private void listModels() {
        try {
            List<ModelDescription> listed = GoogleAiGeminiModelCatalog.builder()
                    .httpClientBuilder(transport.builder()).apiKey(apiKey).baseUrl(baseUrl).build().listModels();
            List<ModelDescriptor> chat = new ArrayList<>();
            for (ModelDescription d : listed) {
                // langchain4j types a model CHAT when it supports generateContent (EMBEDDING for embedContent; none
                // for predict-only models such as Imagen): only those can answer a chat.
                if (d.type() != ModelType.CHAT || d.name() == null) {
                    continue;
                }
                String modelId = d.name().startsWith("models/") ? d.name().substring("models/".length()) : d.name();
                int in = d.maxInputTokens() == null ? config.defaultContextWindow() : d.maxInputTokens();
                int out = d.maxOutputTokens() == null ? config.defaultMaxOutputTokens() : d.maxOutputTokens();
                // Gemini's inputTokenLimit is the prompt's limit; the answer's comes on top of it.
                chat.add(new ModelDescriptor(modelId, id, d.displayName(), in + out, out, CHAT_CAPABILITIES));
            }
            if (!chat.isEmpty()) {
                models = List.copyOf(chat);
            }
            LOG.info("event=models_listed provider={} count={}", id, chat.size());
        } catch (RuntimeException e) {
            ParleyException mapped = GeminiErrors.fromThrowable(e, apiKey);
            LOG.warn("event=models_list_failed provider={} code={} message={} retryIn=60s", id, mapped.code().slug(),
                    mapped.getMessage());
            try {
                scheduler.schedule(() -> executor.execute(this::listModels), 60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // deactivated meanwhile
            }
        }
    }

    private List<ModelDescriptor> descriptors(List<String> ids) {
        return ids.stream().map(m -> new ModelDescriptor(m, id, m, config.defaultContextWindow(),
                Math.min(config.defaultMaxOutputTokens(), config.defaultContextWindow()), CHAT_CAPABILITIES)).toList();
    }

    // ---- embeddings ---------------------------------------------------------------------------------------------

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return embeddingModels;
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Objects.requireNonNull(request, "request");
        EmbeddingModel model = embeddingModels.stream().filter(m -> m.id().equals(request.model())).findFirst()
                .orElse(null);
        if (model == null) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "provider '" + id + "' has no embedding model '" + request.model() + "'"));
        }
        if (request.inputs().size() > model.maxBatchSize()) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.INVALID_REQUEST,
                    "at most " + model.maxBatchSize() + " inputs per call"));
        }
        try {
            return CompletableFuture.supplyAsync(() -> embedNow(model, request), executor)
                    .orTimeout(config.answerTimeoutSeconds(), TimeUnit.SECONDS)
                    .exceptionallyCompose(t -> CompletableFuture.failedFuture(unwrap(t)));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the Gemini provider is stopping"));
        }
    }

    private EmbeddingResponse embedNow(EmbeddingModel model, EmbeddingRequest request) {
        GoogleAiEmbeddingModel client = GoogleAiEmbeddingModel.builder()
                .httpClientBuilder(transport.builder()).apiKey(apiKey).baseUrl(baseUrl).modelName(model.id())
                .outputDimensionality(request.dimensions()).maxRetries(0).build();
        Response<List<dev.langchain4j.data.embedding.Embedding>> answer =
                client.embedAll(request.inputs().stream().map(TextSegment::from).toList());
        List<Embedding> vectors = new ArrayList<>();
        List<dev.langchain4j.data.embedding.Embedding> got = answer.content();
        if (got.size() != request.inputs().size()) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Gemini returned " + got.size()
                    + " embeddings for " + request.inputs().size() + " inputs");
        }
        for (int i = 0; i < got.size(); i++) {
            vectors.add(new Embedding(i, got.get(i).vector()));
        }
        // batchEmbedContents reports no usage: estimate, about four characters per token.
        int chars = request.inputs().stream().mapToInt(String::length).sum();
        return new EmbeddingResponse(model.id(), vectors, (chars + 3) / 4);
    }

    private ParleyException unwrap(Throwable t) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        if (c instanceof java.util.concurrent.TimeoutException) {
            return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Gemini did not embed within "
                    + config.answerTimeoutSeconds() + " s", c);
        }
        return GeminiErrors.fromThrowable(c, apiKey);
    }

    static List<EmbeddingModel> embeddingModels(String[] entries, String providerId) {
        List<EmbeddingModel> out = new ArrayList<>();
        for (String entry : clean(entries)) {
            int eq = entry.indexOf('=');
            String modelId = eq < 0 ? entry : entry.substring(0, eq).trim();
            int dims = eq < 0 ? 3072 : Integer.parseInt(entry.substring(eq + 1).trim());
            out.add(new EmbeddingModel(modelId, providerId, dims, 2048, EMBED_BATCH, true));
        }
        return List.copyOf(out);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static List<String> clean(String[] values) {
        if (values == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                out.add(v.trim());
            }
        }
        return out;
    }

    private static String requireText(String value, String what) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        return value.trim();
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
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

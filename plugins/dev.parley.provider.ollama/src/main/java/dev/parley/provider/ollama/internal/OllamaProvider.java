package dev.parley.provider.ollama.internal;

import dev.langchain4j.http.client.jdk.JdkHttpClient;
import dev.langchain4j.http.client.jdk.JdkHttpClientBuilder;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.ollama.OllamaChatModel;
import dev.langchain4j.model.ollama.OllamaEmbeddingModel;
import dev.langchain4j.model.ollama.OllamaModel;
import dev.langchain4j.model.ollama.OllamaModels;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
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
 * Chat and embedding models of one Ollama server, through langchain4j-ollama (embedded privately) over its JDK
 * HTTP client. Streaming is {@code POST /api/chat} with NDJSON lines; {@link #complete} is one {@code "stream":
 * false} call; embeddings are {@code POST /api/embed}; the model list is {@code GET /api/tags}.
 *
 * <p>Each configuration instance (factory PID {@value OllamaProviderConfig#FACTORY_PID}) is its own provider with its
 * own id, server, token and models. When it stops, answers in flight finish (up to the drain timeout), the rest end
 * with {@code UNAVAILABLE}, and its threads are gone when {@link #deactivate} returns.
 */
@Component(
        service = {ChatModelProvider.class, EmbeddingProvider.class},
        configurationPid = OllamaProviderConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        // Immediate: one instance per configuration for as long as it exists. A delayed component would be disposed
        // whenever its last user ungets it, cutting answers of callers that still hold the object.
        immediate = true)
@Designate(ocd = OllamaProviderConfig.class, factory = true)
public final class OllamaProvider implements ChatModelProvider, EmbeddingProvider {

    static final String PRIVATE_API_KEY = ".apiKey";
    private static final Logger LOG = LoggerFactory.getLogger(OllamaProvider.class);
    private static final Duration MODEL_REFRESH = Duration.ofMinutes(5);
    /** Ollama's /api/embed takes any number of inputs; this keeps one call to a reasonable size. */
    private static final int MAX_EMBED_BATCH = 512;

    private final OllamaSettings settings;
    private final ExecutorService io;
    private final ScheduledExecutorService timers;
    private final OllamaStreamingChatModel streamingModel;
    private final OllamaChatModel wholeModel;
    private final OllamaModels catalog;
    private final GuardedHttpClient.Builder http;
    /** For /api/show, which langchain4j-ollama's model card reads without the capabilities. */
    private final dev.langchain4j.http.client.HttpClient show;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TrackingHttpClient.Builder jdk;
    private final Map<String, OllamaEmbeddingModel> embedders = new ConcurrentHashMap<>();
    /** Calls that have not ended; guarded by itself, notified whenever one ends. */
    private final Set<UpstreamCall> active = new HashSet<>();
    private volatile boolean stopping;
    private volatile List<ModelDescriptor> models;
    private volatile List<EmbeddingModel> embeddingModels;

    @Activate
    public OllamaProvider(OllamaProviderConfig config, Map<String, Object> properties) {
        this(OllamaSettings.of(config, properties.get(PRIVATE_API_KEY)));
    }

    OllamaProvider(OllamaSettings settings) {
        this.settings = settings;
        this.io = Executors.newCachedThreadPool(threads("parley-ollama-io-" + settings.id()));
        this.timers = Executors.newSingleThreadScheduledExecutor(threads("parley-ollama-timer-" + settings.id()));
        // One JDK client per instance, running on this instance's own threads (shut down on deactivate); langchain4j's
        // JdkHttpClient is built over it explicitly, as its ServiceLoader look-up cannot see across bundles.
        this.jdk = new TrackingHttpClient.Builder(
                java.net.http.HttpClient.newBuilder()
                        .version(java.net.http.HttpClient.Version.HTTP_1_1)
                        .executor(io),
                settings.maxAnswerBytes());
        JdkHttpClientBuilder l4j = JdkHttpClient.builder()
                .httpClientBuilder(jdk)
                .connectTimeout(settings.connectTimeout())
                .readTimeout(settings.responseTimeout());
        String token = settings.apiKey();
        this.http = new GuardedHttpClient.Builder(l4j, token);
        this.streamingModel = OllamaStreamingChatModel.builder()
                .httpClientBuilder(http).baseUrl(settings.baseUrl()).build();
        this.wholeModel = OllamaChatModel.builder()
                .httpClientBuilder(http).baseUrl(settings.baseUrl()).maxRetries(0).build();
        this.show = http.build();
        this.catalog = OllamaModels.builder()
                .httpClientBuilder(http).baseUrl(settings.baseUrl()).maxRetries(0).build();
        this.models = descriptors(settings.models());
        this.embeddingModels = embeddingDescriptors(settings.embeddingModels());
        if (settings.models().isEmpty() || settings.embeddingModels().isEmpty()) {
            io.execute(this::refreshModels);
            timers.scheduleWithFixedDelay(() -> io.execute(this::refreshModels), MODEL_REFRESH.toSeconds(),
                    MODEL_REFRESH.toSeconds(), TimeUnit.SECONDS);
        }
        LOG.info("event=provider_activated provider={} baseUrl={} token={} models={} embeddingModels={}",
                settings.id(), loggable(settings.baseUrl()), token == null ? "none" : "set",
                settings.models().isEmpty() ? "from-server" : settings.models(),
                settings.embeddingModels().isEmpty() ? "from-server" : settings.embeddingModels());
    }

    /**
     * Lets answers in flight finish (bounded by the drain timeout), cuts off the rest with {@code UNAVAILABLE}, and
     * stops this instance's threads. DS has already unregistered the services, so no new call starts here.
     */
    @Deactivate
    void deactivate() throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        List<UpstreamCall> unfinished;
        synchronized (active) {
            long left;
            while (!active.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(active, left);
            }
            unfinished = new ArrayList<>(active);
        }
        for (UpstreamCall call : unfinished) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the Ollama provider stopped before the answer finished"));
        }
        timers.shutdownNow();
        jdk.close();
        io.shutdownNow();
        if (!timers.awaitTermination(5, TimeUnit.SECONDS) | !io.awaitTermination(5, TimeUnit.SECONDS)) {
            LOG.warn("event=provider_threads_linger provider={}", settings.id());
        }
        LOG.info("event=provider_deactivated provider={} cutOff={}", settings.id(), unfinished.size());
    }

    @Override
    public String id() {
        return settings.id();
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return embeddingModels;
    }

    /** How many calls are in flight now. */
    int inFlight() {
        synchronized (active) {
            return active.size();
        }
    }

    // ---- chat -------------------------------------------------------------------------------------------------

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, true);
    }

    /** One {@code "stream": false} call; the handler gets no tokens, only the whole answer. */
    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, false);
    }

    private StreamHandle start(ChatRequest request, ChatStreamHandler handler, boolean streamed) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        UpstreamCall call = new UpstreamCall(handler, request.model(), this::ended);
        dev.langchain4j.model.chat.request.ChatRequest upstream;
        try {
            upstream = RequestMapping.toLangchain(request);
        } catch (ParleyException e) {
            call.fail(e);
            return call;
        } catch (RuntimeException e) {
            call.fail(new ParleyException(ErrorCode.INVALID_REQUEST,
                    "the request cannot be sent to Ollama: " + e.getMessage(), e));
            return call;
        }
        if (!admit(call)) {
            return call;
        }
        call.timer(timers.schedule(() -> call.fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                "the Ollama server did not finish the answer within " + settings.answerTimeout().toSeconds() + " s")),
                settings.answerTimeout().toMillis(), TimeUnit.MILLISECONDS));
        int promptEstimate = estimateTokens(request.model(), request.messages());
        if (streamed) {
            StreamingChatResponseHandler listener = new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partialResponse) {
                    call.token(partialResponse);
                }

                @Override
                public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse response) {
                    call.complete(RequestMapping.fromLangchain(response, request.model(), promptEstimate));
                }

                @Override
                public void onError(Throwable error) {
                    call.fail(OllamaErrors.map(error, call));
                }
            };
            call.run(() -> {
                try {
                    streamingModel.chat(upstream, listener);
                } catch (RuntimeException e) {
                    call.fail(OllamaErrors.map(e, call));
                }
            });
        } else {
            try {
                io.execute(() -> call.run(() -> {
                    try {
                        dev.langchain4j.model.chat.response.ChatResponse response = wholeModel.chat(upstream);
                        ChatResponse answer = RequestMapping.fromLangchain(response, request.model(), promptEstimate);
                        call.complete(answer);
                    } catch (RuntimeException e) {
                        call.fail(OllamaErrors.map(e, call));
                    }
                }));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Ollama provider is stopping"));
            }
        }
        return call;
    }

    private boolean admit(UpstreamCall call) {
        synchronized (active) {
            if (stopping) {
                call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Ollama provider is stopping"));
                return false;
            }
            active.add(call);
            return true;
        }
    }

    private void ended(UpstreamCall call) {
        synchronized (active) {
            if (active.remove(call)) {
                active.notifyAll();
            }
        }
    }

    @Override
    public int estimateTokens(String model, List<ChatMessage> messages) {
        // Ollama serves many tokenizers and exposes none: about four characters a token, images counted as Ollama's
        // vision models typically tile them.
        int chars = 0;
        for (ChatMessage m : messages) {
            chars += m.content().length() + 16;
            for (var c : m.toolCalls()) {
                chars += c.name().length() + c.argumentsJson().length();
            }
        }
        int images = 0;
        for (ChatMessage m : messages) {
            for (var p : m.parts()) {
                if (!p.isText()) {
                    images++;
                }
            }
        }
        return (chars + 3) / 4 + images * 768;
    }

    // ---- embeddings -------------------------------------------------------------------------------------------

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Objects.requireNonNull(request, "request");
        CompletableFuture<EmbeddingResponse> result = new CompletableFuture<>();
        // An embedding call is a call like a chat: it drains on stop, has the whole-answer timeout and can be
        // stopped, through the same UpstreamCall (whose handler completes the future).
        UpstreamCall call = new UpstreamCall(new FutureHandler(result), request.model(), this::ended);
        if (!admit(call)) {
            return result;
        }
        call.timer(timers.schedule(() -> call.fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                "the Ollama server did not embed within " + settings.answerTimeout().toSeconds() + " s")),
                settings.answerTimeout().toMillis(), TimeUnit.MILLISECONDS));
        result.whenComplete((r, e) -> {
            if (result.isCancelled()) {
                call.cancel();
            }
        });
        try {
            io.execute(() -> call.run(() -> {
                try {
                    OllamaEmbeddingModel model = embedders.computeIfAbsent(
                            request.model() + "#" + request.dimensions(), k -> embedder(request));
                    var response = model.embedAll(request.inputs().stream().map(TextSegment::from).toList());
                    List<Embedding> vectors = new ArrayList<>();
                    var list = response.content();
                    if (list.size() != request.inputs().size()) {
                        throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "the Ollama server returned "
                                + list.size() + " embeddings for " + request.inputs().size() + " inputs");
                    }
                    for (int i = 0; i < list.size(); i++) {
                        vectors.add(new Embedding(i, list.get(i).vector()));
                    }
                    var usage = response.tokenUsage();
                    int tokens = usage == null || usage.inputTokenCount() == null
                            ? request.inputs().stream().mapToInt(s -> (s.length() + 3) / 4).sum()
                            : usage.inputTokenCount();
                    EmbeddingResponse answer = new EmbeddingResponse(request.model(), vectors, tokens);
                    call.succeed(() -> result.complete(answer));
                } catch (RuntimeException e) {
                    call.fail(OllamaErrors.map(e, call));
                }
            }));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the Ollama provider is stopping"));
        }
        return result;
    }

    private OllamaEmbeddingModel embedder(EmbeddingRequest request) {
        return OllamaEmbeddingModel.builder()
                .httpClientBuilder(http)
                .baseUrl(settings.baseUrl())
                .modelName(request.model())
                .dimensions(request.dimensions())
                .maxRetries(0)
                .build();
    }

    // ---- models -------------------------------------------------------------------------------------------------

    void refreshModels() {
        UpstreamCall call = new UpstreamCall(new FutureHandler(new CompletableFuture<>()), null, c -> { });
        call.run(() -> {
            try {
                List<OllamaModel> listed = catalog.availableModels().content();
                List<ModelDescriptor> chat = new ArrayList<>();
                List<String> embedding = new ArrayList<>();
                for (OllamaModel m : listed) {
                    String name = m.getName() != null ? m.getName() : m.getModel();
                    if (name == null) {
                        continue;
                    }
                    Set<String> capabilities = capabilities(name);
                    boolean embeds = capabilities == null ? isEmbeddingModel(m)
                            : capabilities.contains("embedding") && !capabilities.contains("completion");
                    if (embeds) {
                        embedding.add(name);
                    } else {
                        chat.add(descriptor(name, capabilities));
                    }
                }
                if (settings.models().isEmpty()) {
                    models = List.copyOf(chat);
                }
                if (settings.embeddingModels().isEmpty()) {
                    embeddingModels = embeddingDescriptors(embedding);
                }
                LOG.info("event=models_fetched provider={} chat={} embedding={}", settings.id(), chat.size(),
                        embedding.size());
            } catch (RuntimeException e) {
                ParleyException mapped = OllamaErrors.map(e, call);
                LOG.warn("event=models_fetch_failed provider={} code={} reason=\"{}\"", settings.id(),
                        mapped.code().slug(), mapped.getMessage());
            }
        });
    }

    /**
     * A model's {@code capabilities} from {@code POST /api/show} ({@code completion}, {@code tools}, {@code vision},
     * {@code embedding}, {@code thinking}; Ollama 0.6+), or null when the server does not say. langchain4j-ollama's
     * model card has no such field, so the answer is read here, through the same langchain4j HTTP client.
     */
    private Set<String> capabilities(String model) {
        try {
            var response = show.execute(dev.langchain4j.http.client.HttpRequest.builder()
                    .method(dev.langchain4j.http.client.HttpMethod.POST)
                    .url(settings.baseUrl(), "api/show")
                    .addHeader("Content-Type", "application/json")
                    .body(JSON.writeValueAsString(Map.of("model", model)))
                    .build());
            JsonNode caps = JSON.readTree(response.body()).path("capabilities");
            if (!caps.isArray()) {
                return null;
            }
            Set<String> names = new HashSet<>();
            caps.forEach(c -> names.add(c.asText()));
            return names;
        } catch (Exception e) {
            LOG.debug("event=model_show_failed provider={} model={} reason=\"{}\"", settings.id(), model,
                    e.getClass().getSimpleName());
            return null;
        }
    }

    private ModelDescriptor descriptor(String id, Set<String> capabilities) {
        Set<ModelCapability> declared = EnumSet.noneOf(ModelCapability.class);
        if (capabilities != null) {
            // Every completion model takes "format" (JSON mode and schemas are enforced by Ollama's sampler).
            declared.add(ModelCapability.JSON_OUTPUT);
            if (capabilities.contains("tools")) {
                declared.add(ModelCapability.TOOLS);
            }
            if (capabilities.contains("vision")) {
                declared.add(ModelCapability.VISION);
            }
        }
        return new ModelDescriptor(id, settings.id(), id, settings.contextWindow(),
                Math.min(settings.maxOutputTokens(), settings.contextWindow()), declared);
    }

    /** BERT-family models (nomic-embed-text, mxbai-embed-large, all-minilm, bge-m3 …) only embed. */
    static boolean isEmbeddingModel(OllamaModel m) {
        var d = m.getDetails();
        if (d == null) {
            return false;
        }
        if (d.getFamily() != null && d.getFamily().toLowerCase(java.util.Locale.ROOT).contains("bert")) {
            return true;
        }
        return d.getFamilies() != null
                && d.getFamilies().stream().anyMatch(f -> f != null && f.toLowerCase(java.util.Locale.ROOT).contains("bert"));
    }

    /** Configured models: their capabilities are not declared (core passes everything; Ollama refuses what a model cannot do). */
    private List<ModelDescriptor> descriptors(List<String> ids) {
        return ids.stream().map(id -> descriptor(id, null)).toList();
    }

    private List<EmbeddingModel> embeddingDescriptors(List<String> ids) {
        return ids.stream().map(id -> new EmbeddingModel(id, settings.id(), settings.embeddingDimensions(),
                settings.contextWindow(), MAX_EMBED_BATCH, false)).toList();
    }

    private static String loggable(String url) {
        URI uri = URI.create(url);
        return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    static List<String> list(String[] values) {
        return values == null ? List.of()
                : Arrays.stream(values).map(String::trim).filter(s -> !s.isEmpty()).distinct().toList();
    }
}

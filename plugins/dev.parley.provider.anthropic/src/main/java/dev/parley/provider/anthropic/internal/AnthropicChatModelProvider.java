package dev.parley.provider.anthropic.internal;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.AnthropicClientImpl;
import com.anthropic.core.ClientOptions;
import com.anthropic.core.LogLevel;
import com.anthropic.core.RequestOptions;
import com.anthropic.core.Sleeper;
import com.anthropic.models.models.ModelInfo;
import com.anthropic.models.models.ModelListPage;
import com.anthropic.models.models.ModelListParams;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Phaser;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
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
 * Claude models through the Anthropic Messages API, driven by the official Anthropic Java SDK (embedded privately).
 * One instance per factory configuration; without configuration there is none.
 */
@Component(
        service = ChatModelProvider.class,
        configurationPid = AnthropicProviderConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE,
        // The service property to filter providers by; an instance's configuration sets it to its id.
        property = AnthropicChatModelProvider.PROVIDER_ID_PROPERTY + "=anthropic")
@Designate(ocd = AnthropicProviderConfig.class, factory = true)
public final class AnthropicChatModelProvider implements ChatModelProvider {

    /** The service property naming the provider id (the configuration's {@code id}). */
    public static final String PROVIDER_ID_PROPERTY = "parley.provider.id";
    /** The configuration key of the API key; dotted, so Declarative Services never makes it a service property. */
    public static final String API_KEY = ".apiKey";

    static final Duration MODEL_REFRESH = Duration.ofMinutes(5);
    private static final Set<ModelCapability> CAPABILITIES =
            EnumSet.of(ModelCapability.TOOLS, ModelCapability.VISION, ModelCapability.JSON_OUTPUT);
    private static final Logger LOG = LoggerFactory.getLogger(AnthropicChatModelProvider.class);

    private final String providerId;
    private final String baseUrl;
    private final int defaultMaxOutputTokens;
    private final int defaultContextWindow;
    private final Duration answerTimeout;
    private final int maxAnswerChars;
    private final Duration drainTimeout;
    private final ExecutorService io;
    private final ScheduledExecutorService timers;
    private final AnthropicClient client;
    /** One party for the provider itself plus one per answer running; see {@link #deactivate()}. */
    private final Phaser running = new Phaser(1);
    private final Set<AnthropicCall> calls = ConcurrentHashMap.newKeySet();
    private volatile List<ModelDescriptor> models = List.of();
    private final CompletableFuture<Void> warmedUp;

    @Activate
    public AnthropicChatModelProvider(AnthropicProviderConfig config, Map<String, Object> properties) {
        this.providerId = Objects.requireNonNullElse(blankToNull(config.id()), "anthropic");
        Object serviceId = properties.get(PROVIDER_ID_PROPERTY);
        if (serviceId != null && !providerId.equals(serviceId)) {
            LOG.warn("event=provider_id_mismatch id={} {}={} hint=\"set both keys to the same value\"", providerId,
                    PROVIDER_ID_PROPERTY, serviceId);
        }
        String url = Objects.requireNonNullElse(blankToNull(config.baseUrl()), "https://api.anthropic.com");
        this.baseUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        Object key = properties.get(API_KEY);
        String apiKey = key instanceof String k && !k.isBlank() ? k.trim() : null;
        this.defaultMaxOutputTokens = Math.max(1, config.defaultMaxOutputTokens());
        this.defaultContextWindow = Math.max(defaultMaxOutputTokens, config.defaultContextWindow());
        this.answerTimeout = Duration.ofSeconds(Math.max(1, config.answerTimeoutSeconds()));
        this.maxAnswerChars = Math.max(1024, config.maxAnswerChars());
        this.drainTimeout = Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds()));
        this.io = Executors.newCachedThreadPool(threads("parley-anthropic-" + providerId));
        this.timers = Executors.newSingleThreadScheduledExecutor(threads("parley-anthropic-timer-" + providerId));
        var options = ClientOptions.builder()
                .httpClient(new JdkHttpClient(Duration.ofSeconds(Math.max(1, config.connectTimeoutSeconds())),
                        answerTimeout, io))
                .baseUrl(baseUrl)
                // Parley's router retries and falls back; a retry here would hide the vendor's answer from it.
                .maxRetries(0)
                .timeout(answerTimeout)
                // The SDK's own request log (ANTHROPIC_LOG) stays off: Parley logs what it needs, never the key.
                .logLevel(LogLevel.OFF)
                .completionExecutor(io)
                .streamHandlerExecutor(io)
                .sleeper(new TimerSleeper(timers))
                .putHeader("anthropic-version", Objects.requireNonNullElse(blankToNull(config.anthropicVersion()),
                        "2023-06-01"));
        if (apiKey != null) {
            // The Messages API's own authentication header (the SDK's credential chain is not used: no environment,
            // no profile files, only this instance's configuration).
            options.putHeader("x-api-key", apiKey);
        }
        this.client = new AnthropicClientImpl(options.build());

        // The SDK's JSON mapping (Jackson with Kotlin reflection over large generated classes) costs seconds on its
        // first use; pay that here, off the first chat's path.
        this.warmedUp = CompletableFuture.runAsync(AnthropicChatModelProvider::warmUp, io);
        List<String> configured = config.models() == null ? List.of()
                : Arrays.stream(config.models()).map(String::trim).filter(s -> !s.isEmpty()).distinct().toList();
        if (configured.isEmpty()) {
            io.execute(this::refreshModels);
            timers.scheduleWithFixedDelay(() -> io.execute(this::refreshModels), MODEL_REFRESH.toSeconds(),
                    MODEL_REFRESH.toSeconds(), TimeUnit.SECONDS);
        } else {
            List<ModelDescriptor> list = new ArrayList<>();
            for (String id : configured) {
                list.add(new ModelDescriptor(id, providerId, id, defaultContextWindow, defaultMaxOutputTokens,
                        CAPABILITIES));
            }
            this.models = List.copyOf(list);
        }
        LOG.info("event=provider_activated provider={} baseUrl={} apiKey={} models={}", providerId, loggable(baseUrl),
                apiKey == null ? "none" : "set", configured.isEmpty() ? "from-upstream" : configured);
    }

    /** Completes once the SDK's JSON mapping is warm (tests wait for it instead of racing a cold first call). */
    CompletableFuture<Void> warmedUp() {
        return warmedUp;
    }

    static void warmUp() {
        try {
            var mapper = com.anthropic.core.ObjectMappers.jsonMapper();
            for (String event : List.of(
                    "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":"
                            + "\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":"
                            + "{\"input_tokens\":1,\"output_tokens\":1}}}",
                    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}",
                    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}",
                    "{\"type\":\"message_stop\"}")) {
                mapper.readValue(event, com.anthropic.models.messages.RawMessageStreamEvent.class).validate();
            }
            mapper.writeValueAsBytes(MessagesRequest.build(new ChatRequest("m",
                    List.of(dev.parley.api.chat.ChatMessage.user("warm up")), null, null), 1)._body());
        } catch (Exception | LinkageError e) {
            LOG.debug("event=warm_up_failed", e);
        }
    }

    @Deactivate
    void deactivate() {
        // DS has unregistered the service: no new answer starts here. Answers already running finish on this
        // instance (a plugin upgrade runs the new version beside it), up to the drain timeout.
        int phase = running.arriveAndDeregister();
        try {
            running.awaitAdvanceInterruptibly(phase, drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("event=provider_drain_timeout provider={} answers={}", providerId, calls.size());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (AnthropicCall c : calls) {
            c.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider stopped before the answer finished"));
        }
        client.close();
        timers.shutdownNow();
        io.shutdownNow();
        try {
            io.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

    /** Lists the models with {@code GET /v1/models}, every page; keeps the last good list when it fails. */
    void refreshModels() {
        try {
            List<ModelDescriptor> list = new ArrayList<>();
            Map<String, Boolean> seen = new LinkedHashMap<>();
            ModelListPage page = client.models().list(ModelListParams.builder().limit(1000L).build(),
                    RequestOptions.builder().timeout(Duration.ofSeconds(30)).build());
            while (true) {
                for (ModelInfo m : page.data()) {
                    if (seen.put(m.id(), Boolean.TRUE) == null) {
                        list.add(descriptor(m));
                    }
                }
                if (!page.hasNextPage()) {
                    break;
                }
                page = page.nextPage();
            }
            models = List.copyOf(list);
            LOG.info("event=models_fetched provider={} count={}", providerId, list.size());
        } catch (RuntimeException e) {
            ParleyException mapped = AnthropicErrors.map(e, "-");
            LOG.warn("event=models_fetch_failed provider={} code={} error=\"{}\" keeping={}", providerId,
                    mapped.code().slug(), mapped.getMessage(), models.size());
        }
    }

    private ModelDescriptor descriptor(ModelInfo m) {
        int maxOut = m.maxTokens().map(v -> (int) Math.min(Integer.MAX_VALUE, v)).orElse(defaultMaxOutputTokens);
        int window = m.maxInputTokens().map(v -> (int) Math.min(Integer.MAX_VALUE, v)).orElse(defaultContextWindow);
        window = Math.max(window, maxOut);
        String name = m._displayName().asString().orElse(m.id());
        return new ModelDescriptor(m.id(), providerId, name, window, Math.max(1, maxOut), CAPABILITIES);
    }

    /** max_tokens is required by the vendor: the model's own limit unless the request sets one. */
    long maxOutputTokens(String model) {
        for (ModelDescriptor d : models) {
            if (d.id().equals(model)) {
                return d.maxOutputTokens();
            }
        }
        return defaultMaxOutputTokens;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, true);
    }

    /** One non-streamed {@code POST /v1/messages}: no tokens, the whole answer in {@code onComplete}. */
    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, false);
    }

    private StreamHandle start(ChatRequest request, ChatStreamHandler handler, boolean streamed) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        com.anthropic.models.messages.MessageCreateParams params;
        try {
            params = MessagesRequest.build(request, maxOutputTokens(request.model()));
        } catch (ParleyException e) {
            return failed(handler, e);
        } catch (RuntimeException e) {
            return failed(handler, new ParleyException(ErrorCode.INVALID_REQUEST,
                    "the request cannot be sent to Anthropic: " + e.getMessage(), e));
        }
        AnthropicCall call = new AnthropicCall(client.messages(), params, answerTimeout, streamed, handler,
                maxAnswerChars);
        if (io.isShutdown() || running.register() < 0) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider is shutting down"));
            return call;
        }
        calls.add(call);
        call.whenTerminated(() -> {
            calls.remove(call);
            running.arriveAndDeregister();
        });
        try {
            Future<?> timer = timers.schedule(() -> call.fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "Anthropic did not finish the answer within " + answerTimeout.toSeconds() + " s")),
                    answerTimeout.toMillis(), TimeUnit.MILLISECONDS);
            call.started(io.submit(call), timer);
        } catch (RejectedExecutionException e) {
            call.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the provider is shutting down"));
        }
        return call;
    }

    private static StreamHandle failed(ChatStreamHandler handler, ParleyException e) {
        handler.onError(e);
        return () -> { };
    }

    /** The base URL without user info or query, which could hold a credential. */
    static String loggable(String url) {
        try {
            URI u = URI.create(url);
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

    /** The SDK's retry sleeper on the provider's timer (no retries are configured; it exists so no Timer thread does). */
    private record TimerSleeper(ScheduledExecutorService timers) implements Sleeper {
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
            timers.schedule(() -> f.complete(null), duration.toMillis(), TimeUnit.MILLISECONDS);
            return f;
        }

        @Override
        public void close() {
        }
    }
}

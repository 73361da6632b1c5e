package dev.parley.provider.bedrock.internal;

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
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;
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
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/**
 * Chat models on Amazon Bedrock through the Converse API, and Amazon Titan text embeddings through InvokeModel,
 * driven by the AWS SDK for Java v2 (embedded privately). One instance per factory configuration: several accounts,
 * regions or endpoints run side by side, each with its own provider id.
 */
@Component(
        service = {ChatModelProvider.class, EmbeddingProvider.class},
        configurationPid = BedrockProviderConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = BedrockProviderConfig.class, factory = true)
public final class BedrockProvider implements ChatModelProvider, EmbeddingProvider {

    static final List<String> DEFAULT_MODELS = List.of(
            "anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0");

    private static final Logger LOG = LoggerFactory.getLogger(BedrockProvider.class);

    private final String providerId;
    private final String region;
    private final List<ModelDescriptor> models;
    private final List<EmbeddingModel> embeddingModels;
    private final Duration answerTimeout;
    private final Duration drainTimeout;
    private final int maxAnswerChars;
    private final ScheduledExecutorService timers;
    private NioEventLoopGroup eventLoop;
    private final SdkAsyncHttpClient http;
    private final AwsCredentialsProvider credentials;
    private final BedrockRuntimeAsyncClient client;
    private final TitanEmbeddings titan;
    /** One party for the provider itself plus one per answer running; see {@link #deactivate()}. */
    private final Phaser running = new Phaser(1);
    private final Set<ConverseStream> streams = ConcurrentHashMap.newKeySet();
    private volatile boolean stopped;

    @Activate
    public BedrockProvider(BedrockProviderConfig config) {
        this.providerId = Objects.requireNonNullElse(blankToNull(config.id()), "bedrock");
        this.region = Objects.requireNonNullElse(blankToNull(config.region()), "us-east-1");
        int maxOut = Math.max(1, config.maxOutputTokens());
        int window = Math.max(maxOut, config.contextWindow());
        List<String> ids = clean(config.models());
        this.models = (ids.isEmpty() ? DEFAULT_MODELS : ids).stream()
                .map(id -> new ModelDescriptor(id, providerId, id, window, maxOut)).toList();
        this.embeddingModels = clean(config.embeddingModels()).stream()
                .map(id -> TitanEmbeddings.describe(id, providerId)).toList();
        this.answerTimeout = Duration.ofSeconds(Math.max(1, config.answerTimeoutSeconds()));
        this.drainTimeout = Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds()));
        this.maxAnswerChars = Math.max(1, config.maxAnswerChars());
        this.timers = Executors.newSingleThreadScheduledExecutor(threads("parley-bedrock-timer-" + providerId));

        String accessKey = blankToNull(config._accessKeyId());
        String secret = blankToNull(config._secretAccessKey());
        String session = blankToNull(config._sessionToken());
        if ((accessKey == null) != (secret == null)) {
            timers.shutdownNow();
            throw new IllegalArgumentException("configure both .accessKeyId and .secretAccessKey, or neither");
        }
        // The SDK looks up some of its own resources through the thread's context class loader: give it this
        // bundle's, which sees the embedded SDK.
        Thread current = Thread.currentThread();
        ClassLoader previous = current.getContextClassLoader();
        current.setContextClassLoader(BedrockProvider.class.getClassLoader());
        try {
            this.credentials = accessKey == null ? DefaultCredentialsProvider.builder().build()
                    : StaticCredentialsProvider.create(session == null
                            ? AwsBasicCredentials.create(accessKey, secret)
                            : AwsSessionCredentials.create(accessKey, secret, session));
            // The event loop is this component's, not the SDK's: the SDK would wait out Netty's default two-second
            // quiet period on close, which every reconfiguration and upgrade would pay.
            this.eventLoop = new NioEventLoopGroup(2, threads("parley-bedrock-io-" + providerId));
            this.http = NettyNioAsyncHttpClient.builder()
                    .connectionTimeout(Duration.ofSeconds(Math.max(1, config.connectTimeoutSeconds())))
                    // Waiting for a pooled connection is bounded like connecting (the SDK's default is 10 s).
                    .connectionAcquisitionTimeout(Duration.ofSeconds(Math.max(1, config.connectTimeoutSeconds())))
                    .readTimeout(Duration.ofSeconds(Math.max(1, config.readTimeoutSeconds())))
                    .maxConcurrency(Math.max(1, config.maxConnections()))
                    .eventLoopGroup(SdkEventLoopGroup.create(eventLoop, NioSocketChannel::new))
                    .build();
            var builder = BedrockRuntimeAsyncClient.builder()
                    .region(Region.of(region))
                    .credentialsProvider(credentials)
                    .httpClient(http)
                    // Retries and fallback are the router's: one upstream attempt per call here.
                    .overrideConfiguration(ClientOverrideConfiguration.builder()
                            .retryStrategy(AwsRetryStrategy.doNotRetry())
                            .apiCallTimeout(answerTimeout.plusSeconds(5))
                            // The SDK schedules its call timeouts here. It would otherwise make its own executor
                            // and only shut it down on close, leaving its thread waiting for the call timeout of an
                            // answer that ended a moment before; this one is stopped at once on deactivation.
                            .scheduledExecutorService(timers)
                            .build());
            String endpoint = blankToNull(config.endpoint());
            if (endpoint != null) {
                builder.endpointOverride(URI.create(endpoint));
            }
            this.client = builder.build();
        } catch (RuntimeException e) {
            // Nothing may be left running when activation fails.
            if (eventLoop != null) {
                eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            timers.shutdownNow();
            throw e;
        } finally {
            current.setContextClassLoader(previous);
        }
        this.titan = new TitanEmbeddings(client, providerId);
        LOG.info("event=provider_activated provider={} region={} endpoint={} credentials={} models={} embeddingModels={}",
                providerId, region, blankToNull(config.endpoint()) == null ? "regional" : config.endpoint(),
                accessKey == null ? "default-chain" : session == null ? "static" : "static-session",
                models.stream().map(ModelDescriptor::id).toList(),
                embeddingModels.stream().map(EmbeddingModel::id).toList());
    }

    @Deactivate
    void deactivate() {
        // DS has unregistered the services, so no new answer starts. Those running finish on this instance (a
        // plugin upgrade runs the new version beside it), up to the drain timeout.
        stopped = true;
        int phase = running.arriveAndDeregister();
        try {
            running.awaitAdvanceInterruptibly(phase, drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("event=provider_drain_timeout provider={} streams={}", providerId, streams.size());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ConverseStream s : streams) {
            s.abandon(new ParleyException(ErrorCode.UNAVAILABLE, "the provider stopped before the answer finished"));
        }
        client.close();
        http.close();
        if (credentials instanceof SdkAutoCloseable closeable) {
            closeable.close();
        }
        eventLoop.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        timers.shutdownNow();
        // Deactivation returns only once no thread of this instance runs any more.
        try {
            timers.awaitTermination(5, TimeUnit.SECONDS);
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

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, true);
    }

    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return start(request, handler, false);
    }

    private StreamHandle start(ChatRequest request, ChatStreamHandler handler, boolean streamed) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        ConverseStream run = new ConverseStream(handler, request.model(), maxAnswerChars, this::ended);
        if (stopped || running.register() < 0) {
            run.abandon(new ParleyException(ErrorCode.UNAVAILABLE, "the Bedrock provider has stopped"));
            return run;
        }
        streams.add(run);
        CompletableFuture<?> call;
        try {
            call = streamed ? client.converseStream(ConverseRequests.stream(request), run.responseHandler())
                    : client.converse(ConverseRequests.whole(request)).whenComplete((r, e) -> {
                        if (e != null) {
                            run.fail(e);
                        } else {
                            run.whole(r);
                        }
                    });
        } catch (ParleyException e) {
            run.abandon(e);
            return run;
        } catch (RuntimeException e) {
            // No call was made, so none will end the run later.
            run.abandon(BedrockErrors.map(e, request.model()));
            return run;
        }
        if (streamed) {
            // The SDK reports the outcome to the response handler; a failure before the stream starts (no
            // connection, an HTTP error) reaches it too, and the future only says the call is over.
            call.whenComplete((v, e) -> {
                if (e != null) {
                    run.fail(e);
                }
            });
        }
        run.upstream(call, timers.schedule(run::timedOut, answerTimeout.toMillis(), TimeUnit.MILLISECONDS));
        return run;
    }

    private void ended(ConverseStream run) {
        if (streams.remove(run)) {
            running.arriveAndDeregister();
        }
    }

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return embeddingModels;
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Objects.requireNonNull(request, "request");
        if (stopped) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the Bedrock provider has stopped"));
        }
        EmbeddingModel model = embeddingModels.stream().filter(m -> m.id().equals(request.model())).findFirst()
                .orElse(null);
        if (model == null) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "embedding model '" + request.model() + "' is not offered by provider " + providerId));
        }
        return titan.embed(model, request, answerTimeout, timers);
    }

    private static List<String> clean(String[] values) {
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

    /** For tests: whether answers are still running. */
    int running() {
        return streams.size();
    }
}

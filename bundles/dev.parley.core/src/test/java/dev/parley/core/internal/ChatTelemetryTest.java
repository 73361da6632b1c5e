package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.llm.Usage;

/** Core's spans and metrics of chat turns, recorded through a real OpenTelemetry SDK. */
class ChatTelemetryTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final InMemoryMetricReader metrics = InMemoryMetricReader.create();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private OpenTelemetrySdk sdk;
    private CoreChatService chat;
    private ModelRouter router;
    private ScriptedProvider alpha;

    @BeforeEach
    void setUp() {
        sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build())
                .build();
        alpha = new ScriptedProvider("alpha", model("alpha-large", "alpha", 8000, 1000));
        providers.add(alpha);
    }

    @AfterEach
    void tearDown() {
        providers.forEach(ScriptedProvider::close);
        sdk.close();
    }

    private void start(String[] prices, boolean capture) {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("", 32000, 20, 0, prices, capture));
        chat.setOpenTelemetry(sdk);
    }

    private RecordingListener sendAndAwaitEnd(String conversationId, String content) {
        RecordingListener l = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(conversationId, new SendMessage(content, null, null), l);
        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        // The turn span ends after the answer is stored, on core's store writer.
        await().atMost(WAIT).until(() -> span("chat turn").isPresent());
        return l;
    }

    private Optional<SpanData> span(String name) {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).findFirst();
    }

    @Test
    void aStreamedTurnIsATurnSpanWithAModelCallUnderItAndTheProviderSeesTheCall() {
        chat();
        router.bindProvider(alpha.tokens("Hel", "lo", " there").usage(new Usage(42, 3)));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", null, null));

        sendAndAwaitEnd(c.id(), "Say hello");

        SpanData turn = span("chat turn").orElseThrow();
        SpanData call = span("chat alpha-large").orElseThrow();
        assertThat(turn.getKind()).isEqualTo(SpanKind.INTERNAL);
        assertThat(call.getKind()).isEqualTo(SpanKind.CLIENT);
        assertThat(call.getParentSpanId()).isEqualTo(turn.getSpanId());
        assertThat(call.getTraceId()).isEqualTo(turn.getTraceId());
        assertThat(call.getAttributes().asMap()).containsEntry(AttributeKey.stringKey("gen_ai.operation.name"), "chat")
                .containsEntry(AttributeKey.stringKey("gen_ai.provider.name"), "alpha")
                .containsEntry(AttributeKey.stringKey("gen_ai.request.model"), "alpha-large")
                .containsEntry(AttributeKey.longKey("gen_ai.usage.input_tokens"), 42L)
                .containsEntry(AttributeKey.longKey("gen_ai.usage.output_tokens"), 3L)
                .containsEntry(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), List.of("stop"));
        assertThat(turn.getAttributes().get(AttributeKey.stringKey("gen_ai.conversation.id"))).isEqualTo(c.id());
        // Content is not captured unless an admin turns it on.
        assertThat(call.getAttributes().get(AttributeKey.stringKey("gen_ai.input.messages"))).isNull();
        assertThat(call.getAttributes().get(AttributeKey.stringKey("gen_ai.output.messages"))).isNull();
        // The provider was called with the model-call span current: that is what it sends upstream.
        assertThat(alpha.spansAtCall).hasSize(1);
        assertThat(alpha.spansAtCall.get(0).getSpanId()).isEqualTo(call.getSpanId());
    }

    @Test
    void aTurnAnsweredAfterAFallbackCountsForTheTargetThatAnswered() {
        router = new ModelRouter(new InMemoryRouterStateStore(), TestConfigs.routerSettings(Map.of("aliases",
                new String[] { "pair=alpha/alpha-large,beta/beta-1" })), Timers.scheduled(),
                java.time.Clock.systemUTC(), null);
        chat = new CoreChatService(store, router, TestConfigs.config("", 32000, 20, 0,
                new String[] { "beta-1=1:2" }, false));
        chat.setOpenTelemetry(sdk);
        ScriptedProvider beta = new ScriptedProvider("beta", model("beta-1", "beta", 8000, 1000)).tokens("ok")
                .usage(new Usage(100, 50));
        providers.add(beta);
        router.bindProvider(alpha.tokens().failWith(new ParleyException(ErrorCode.OVERLOADED, "busy")));
        router.bindProvider(beta);
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "pair", null));

        RecordingListener l = sendAndAwaitEnd(c.id(), "hi");

        assertThat(l.text()).isEqualTo("ok");
        Attributes betaLabels = Attributes.of(ChatTelemetry.PROVIDER, "beta", ChatTelemetry.REQUEST_MODEL, "beta-1");
        await().atMost(WAIT).untilAsserted(() -> assertThat(sum(metricsByName(), "parley.chat.turns",
                betaLabels.toBuilder().put(ChatTelemetry.OUTCOME, "completed").build())).isEqualTo(1));
        assertThat(metricsByName().get("parley.chat.cost.usd").getDoubleSumData().getPoints()).singleElement()
                .satisfies(p -> {
                    assertThat(p.getAttributes()).isEqualTo(betaLabels);
                    assertThat(p.getValue()).isCloseTo((100 * 1 + 50 * 2) / 1e6,
                            org.assertj.core.data.Offset.offset(1e-12));
                });
        assertThat(span("chat turn").orElseThrow().getAttributes().get(ChatTelemetry.ANSWERED_BY))
                .isEqualTo("beta/beta-1");
        router.deactivate();
    }

    @Test
    void aTurnCountsItsOutcomeChunksTokensDurationTimeToFirstTokenAndCost() {
        start(new String[] { "alpha-large=2.5:10" }, false);
        router.bindProvider(alpha.tokens("Hel", "lo", " there").usage(new Usage(42, 3)));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", null, null));

        sendAndAwaitEnd(c.id(), "Say hello");

        Attributes labels = Attributes.of(ChatTelemetry.PROVIDER, "alpha", ChatTelemetry.REQUEST_MODEL, "alpha-large");
        Map<String, MetricData> m = metricsByName();
        assertThat(sum(m, "parley.chat.chunks", labels)).isEqualTo(3);
        assertThat(sum(m, "parley.chat.turns", labels.toBuilder().put(ChatTelemetry.OUTCOME, "completed").build()))
                .isEqualTo(1);
        assertThat(m.get("parley.chat.cost.usd").getDoubleSumData().getPoints()).singleElement()
                .satisfies(p -> assertThat(p.getValue()).isCloseTo((42 * 2.5 + 3 * 10) / 1e6,
                        org.assertj.core.data.Offset.offset(1e-12)));
        Attributes chat = labels.toBuilder().put(ChatTelemetry.OPERATION, "chat").build();
        assertThat(histogram(m, "gen_ai.client.token.usage", chat.toBuilder().put(ChatTelemetry.TOKEN_TYPE, "input")
                .build()).getSum()).isEqualTo(42);
        assertThat(histogram(m, "gen_ai.client.token.usage", chat.toBuilder().put(ChatTelemetry.TOKEN_TYPE, "output")
                .build()).getSum()).isEqualTo(3);
        assertThat(histogram(m, "gen_ai.client.operation.duration", chat).getCount()).isEqualTo(1);
        assertThat(histogram(m, "parley.chat.time_to_first_token", labels).getCount()).isEqualTo(1);
        assertThat(m.get("gen_ai.client.operation.duration").getUnit()).isEqualTo("s");
    }

    @Test
    void aFailedTurnIsAnErrorSpanAnInterruptedTurnAndAProviderError() {
        start(new String[0], false);
        router.bindProvider(alpha.tokens("half").failWith(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "boom")));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", null, null));

        sendAndAwaitEnd(c.id(), "Say hello");

        SpanData call = span("chat alpha-large").orElseThrow();
        assertThat(call.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(call.getAttributes().get(ChatTelemetry.ERROR_TYPE)).isEqualTo("upstream-failure");
        assertThat(span("chat turn").orElseThrow().getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        Map<String, MetricData> m = metricsByName();
        Attributes labels = Attributes.of(ChatTelemetry.PROVIDER, "alpha", ChatTelemetry.REQUEST_MODEL, "alpha-large");
        assertThat(sum(m, "parley.chat.turns", labels.toBuilder().put(ChatTelemetry.OUTCOME, "interrupted")
                .put(ChatTelemetry.ERROR_TYPE, "upstream-failure").build())).isEqualTo(1);
        assertThat(sum(m, "parley.provider.errors", Attributes.of(ChatTelemetry.PROVIDER, "alpha",
                ChatTelemetry.ERROR_TYPE, "upstream-failure"))).isEqualTo(1);
        assertThat(m).doesNotContainKey("parley.chat.time_to_first_token");
    }

    @Test
    void aRefusedTurnEndsItsSpanWithTheReasonAndCallsNoModel() {
        start(new String[0], false);
        router.bindProvider(alpha.tokens("x"));

        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send("no-such-conversation", new SendMessage("hi", null, null),
                new RecordingListener())).isInstanceOf(ParleyException.class);

        SpanData turn = span("chat turn").orElseThrow();
        assertThat(turn.getAttributes().get(ChatTelemetry.ERROR_TYPE)).isEqualTo("not-found");
        assertThat(spans.getFinishedSpanItems()).hasSize(1);
        assertThat(alpha.requests).isEmpty();
    }

    @Test
    void contentCaptureRecordsPromptAndAnswerOnlyWhenTurnedOn() {
        start(new String[0], true);
        router.bindProvider(alpha.tokens("Hi", "!"));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", null, null));

        sendAndAwaitEnd(c.id(), "Say \"hello\"");

        SpanData call = span("chat alpha-large").orElseThrow();
        assertThat(call.getAttributes().get(ChatTelemetry.INPUT_MESSAGES))
                .isEqualTo("[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Say \\\"hello\\\"\"}]}]");
        assertThat(call.getAttributes().get(ChatTelemetry.OUTPUT_MESSAGES))
                .isEqualTo("[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi!\"}]}]");
    }

    @Test
    void aStatelessCompletionIsTracedAndCountedToo() {
        start(new String[0], false);
        router.bindProvider(alpha.tokens("a", "b").usage(new Usage(5, 2)));
        CoreChatServiceTest.RecordingHandler h = new CoreChatServiceTest.RecordingHandler();

        chat.as(TestConfigs.OWNER).complete(new ChatRequest("alpha-large", List.of(ChatMessage.user("hi")), null, null), h);

        await().atMost(WAIT).until(() -> span("chat completion").isPresent());
        assertThat(span("chat alpha-large").orElseThrow().getParentSpanId())
                .isEqualTo(span("chat completion").orElseThrow().getSpanId());
        assertThat(sum(metricsByName(), "parley.chat.chunks",
                Attributes.of(ChatTelemetry.PROVIDER, "alpha", ChatTelemetry.REQUEST_MODEL, "alpha-large"))).isEqualTo(2);
    }

    @Test
    void withoutTheTelemetryServiceTurnsRunUnmeasured() {
        start(new String[0], false);
        chat.unsetOpenTelemetry(sdk);
        router.bindProvider(alpha.tokens("ok"));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", null, null));
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), l);

        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        assertThat(l.errors).isEmpty();
        assertThat(spans.getFinishedSpanItems()).isEmpty();
        assertThat(metrics.collectAllMetrics()).allSatisfy(md -> assertThat(md.getName()).isNotEqualTo("parley.chat.turns"));
    }

    @Test
    void malformedPricesAreRefusedWithTheEntry() {
        assertThatThrownBy(() -> ModelPrices.parse(new String[] { "gpt=1.0" }))
                .hasMessageContaining("'gpt=1.0' is not 'model=input:output'");
        assertThatThrownBy(() -> ModelPrices.parse(new String[] { "gpt=x:1" })).hasMessageContaining("'x' is not a price");
        assertThatThrownBy(() -> ModelPrices.parse(new String[] { "gpt=-1:1" })).hasMessageContaining("is not a price");
        assertThat(ModelPrices.parse(new String[] { "org/model:v1=1:2" }).cost("org/model:v1", new Usage(1_000_000, 0)))
                .isEqualTo(1.0);
        assertThat(ModelPrices.parse(new String[] { "m=1:2" }).cost("other", new Usage(1, 1))).isEqualTo(-1);
    }

    private CoreChatService chat() {
        start(new String[0], false);
        return chat;
    }

    private Map<String, MetricData> metricsByName() {
        Map<String, MetricData> byName = new java.util.HashMap<>();
        for (MetricData md : metrics.collectAllMetrics()) {
            byName.put(md.getName(), md);
        }
        return byName;
    }

    private static long sum(Map<String, MetricData> m, String name, Attributes attributes) {
        assertThat(m).as("metric " + name).containsKey(name);
        return m.get(name).getLongSumData().getPoints().stream().filter(p -> p.getAttributes().equals(attributes))
                .mapToLong(p -> p.getValue()).sum();
    }

    private static HistogramPointData histogram(Map<String, MetricData> m, String name, Attributes attributes) {
        assertThat(m).as("metric " + name).containsKey(name);
        return m.get(name).getHistogramData().getPoints().stream().filter(p -> p.getAttributes().equals(attributes))
                .findFirst().orElseThrow(() -> new AssertionError(name + " has no point for " + attributes + " in "
                        + m.get(name).getHistogramData().getPoints()));
    }
}

package dev.parley.core.internal;

import java.io.IOException;
import java.io.StringWriter;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleCounter;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongUpDownCounter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;

import org.slf4j.MDC;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.Usage;

/**
 * Core's traces and metrics of chat turns, after the OpenTelemetry GenAI semantic conventions: a span for the turn
 * in core (validation, history, store, routing) with a CLIENT span {@code chat <model>} for the provider call under
 * it, and per turn the operation duration, token usage, time to first token, outcome, cost and provider errors.
 *
 * <p>One instance per bound {@link OpenTelemetry}; {@link #NOOP} when there is none. Labels are bounded: provider
 * ids and model ids come from the providers' model lists (a model a client names but no provider serves is refused
 * before any turn exists), error types from {@link ErrorCode}.
 */
final class ChatTelemetry implements AutoCloseable {
    static final String SCOPE = "dev.parley.core";

    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
    static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
    static final AttributeKey<String> TOKEN_TYPE = AttributeKey.stringKey("gen_ai.token.type");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> CONVERSATION = AttributeKey.stringKey("gen_ai.conversation.id");
    static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    static final AttributeKey<List<String>> FINISH_REASONS = AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
    static final AttributeKey<Long> MAX_TOKENS = AttributeKey.longKey("gen_ai.request.max_tokens");
    static final AttributeKey<Double> TEMPERATURE = AttributeKey.doubleKey("gen_ai.request.temperature");
    static final AttributeKey<Double> TOP_P = AttributeKey.doubleKey("gen_ai.request.top_p");
    static final AttributeKey<String> INPUT_MESSAGES = AttributeKey.stringKey("gen_ai.input.messages");
    static final AttributeKey<String> OUTPUT_MESSAGES = AttributeKey.stringKey("gen_ai.output.messages");
    static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("parley.chat.outcome");
    static final AttributeKey<Long> TTFT_MS = AttributeKey.longKey("parley.chat.time_to_first_token_ms");
    static final AttributeKey<Long> PROMPT_MESSAGES = AttributeKey.longKey("parley.chat.prompt_messages");
    static final AttributeKey<Long> DROPPED_HISTORY = AttributeKey.longKey("parley.chat.dropped_history");
    static final AttributeKey<Boolean> WHOLE = AttributeKey.booleanKey("parley.chat.whole");
    /** The {@code provider/model} that answered, when the router fell back from the first target. */
    static final AttributeKey<String> ANSWERED_BY = AttributeKey.stringKey("parley.router.answered_by");

    /** GenAI semantic conventions' advice, extended to minutes: long answers and slow local models take that long. */
    static final List<Double> DURATION_BUCKETS = List.of(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12,
            10.24, 20.48, 40.96, 81.92, 163.84, 327.68);
    static final List<Double> TTFT_BUCKETS = List.of(0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
            2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0);
    static final List<Long> TOKEN_BUCKETS = List.of(1L, 4L, 16L, 64L, 256L, 1024L, 4096L, 16384L, 65536L, 262144L,
            1048576L, 4194304L);

    /** Error codes that say the provider or its model server failed, not the client or Parley. */
    private static final Set<ErrorCode> PROVIDER_ERRORS = EnumSet.of(ErrorCode.PROVIDER_AUTH,
            ErrorCode.PROVIDER_PERMISSION, ErrorCode.RATE_LIMITED, ErrorCode.OVERLOADED, ErrorCode.CONTEXT_TOO_LONG,
            ErrorCode.CONTENT_FILTERED, ErrorCode.UPSTREAM_FAILURE, ErrorCode.UPSTREAM_TIMEOUT,
            ErrorCode.UPSTREAM_PROTOCOL);

    /** Logging-context keys, the same the HTTP filter sets; the JSON log format writes each as a field. */
    static final String MDC_TRACE_ID = "trace_id";
    static final String MDC_SPAN_ID = "span_id";

    static final ChatTelemetry NOOP = new ChatTelemetry(OpenTelemetry.noop(), () -> 0);

    private static final JsonFactory JSON = new JsonFactory();

    private final Tracer tracer;
    private final DoubleHistogram duration;
    private final LongHistogram tokens;
    private final DoubleHistogram ttft;
    private final LongCounter turns;
    private final LongCounter chunks;
    private final DoubleCounter cost;
    private final LongCounter providerErrors;
    private final ObservableLongUpDownCounter active;

    ChatTelemetry(OpenTelemetry otel, IntSupplier turnsInFlight) {
        this.tracer = otel.getTracer(SCOPE);
        Meter meter = otel.getMeter(SCOPE);
        this.duration = meter.histogramBuilder("gen_ai.client.operation.duration").setUnit("s")
                .setDescription("Duration of a chat answer from the provider call to its end (whole answers and "
                        + "streams alike).")
                .setExplicitBucketBoundariesAdvice(DURATION_BUCKETS).build();
        this.tokens = meter.histogramBuilder("gen_ai.client.token.usage").ofLongs().setUnit("{token}")
                .setDescription("Tokens per chat answer, by type: input (prompt) and output (completion).")
                .setExplicitBucketBoundariesAdvice(TOKEN_BUCKETS).build();
        this.ttft = meter.histogramBuilder("parley.chat.time_to_first_token").setUnit("s")
                .setDescription("Time from the provider call to the first token of the answer.")
                .setExplicitBucketBoundariesAdvice(TTFT_BUCKETS).build();
        this.turns = meter.counterBuilder("parley.chat.turns").setUnit("{turn}")
                .setDescription("Chat answers ended, by outcome: completed, or interrupted with an error type.").build();
        this.chunks = meter.counterBuilder("parley.chat.chunks").setUnit("{chunk}")
                .setDescription("Streamed answer chunks relayed from providers to clients.").build();
        this.cost = meter.counterBuilder("parley.chat.cost.usd").ofDoubles()
                .setDescription("What answers cost in USD, from the configured model prices.").build();
        this.providerErrors = meter.counterBuilder("parley.provider.errors").setUnit("{error}")
                .setDescription("Answers that failed in the provider or its model server, by error type.").build();
        this.active = meter.upDownCounterBuilder("parley.chat.turns.active").setUnit("{turn}")
                .setDescription("Chat answers in progress (open streams included).")
                .buildWithCallback(m -> m.record(turnsInFlight.getAsInt()));
    }

    @Override
    public void close() {
        active.close();
    }

    /** Starts the turn's span in core, under the caller's current span (the HTTP or WebSocket request). */
    Span startTurn(String kind, String conversationId) {
        var b = tracer.spanBuilder(kind).setSpanKind(SpanKind.INTERNAL).setAttribute(OPERATION, "chat");
        if (conversationId != null) {
            b.setAttribute(CONVERSATION, conversationId);
        }
        return b.startSpan();
    }

    /** Ends a turn span that never reached a provider (refused: not found, too large, no model, ...). */
    static void refused(Span turn, RuntimeException error) {
        ErrorCode code = error instanceof ParleyException pe ? pe.code() : ErrorCode.INTERNAL;
        turn.setAttribute(ERROR_TYPE, code.slug());
        turn.setStatus(StatusCode.ERROR, error.getMessage());
        turn.end();
    }

    /** The provider call of one routed turn; {@code turn} is the turn's span (its parent). */
    ModelCall call(Span turn, String providerId, ChatRequest request, boolean whole, boolean captureContent,
            ModelPrices prices) {
        Attributes labels = Attributes.of(PROVIDER, providerId, REQUEST_MODEL, request.model());
        turn.setAttribute(PROVIDER, providerId);
        turn.setAttribute(REQUEST_MODEL, request.model());
        ChatOptions o = request.options();
        // The attributes a sampler may look at go on the builder; the rest only onto a span that records.
        Span span = tracer.spanBuilder("chat " + request.model())
                .setParent(Context.current().with(turn))
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(OPERATION, "chat")
                .setAttribute(PROVIDER, providerId)
                .setAttribute(REQUEST_MODEL, request.model())
                .startSpan();
        if (span.isRecording()) {
            span.setAttribute(PROMPT_MESSAGES, (long) request.messages().size());
            span.setAttribute(WHOLE, whole);
            if (o.maxTokens() != null) {
                span.setAttribute(MAX_TOKENS, o.maxTokens().longValue());
            }
            if (o.temperature() != null) {
                span.setAttribute(TEMPERATURE, o.temperature());
            }
            if (o.topP() != null) {
                span.setAttribute(TOP_P, o.topP());
            }
            if (captureContent) {
                span.setAttribute(INPUT_MESSAGES, messagesJson(request.messages()));
            }
        }
        return new ModelCall(turn, span, labels, captureContent, prices);
    }

    /** One provider call's telemetry, from the call to the end of its turn. Each end method runs once. */
    /**
     * The label sets one provider/model pair's metrics use at a turn's end, built once: building and sorting five
     * attribute sets per request was a measurable share of a turn's end.
     */
    record LabelSet(Attributes labels, Attributes chat, Attributes inputTokens, Attributes outputTokens,
            Attributes completed) {
        static LabelSet of(Attributes labels) {
            Attributes chat = labels.toBuilder().put(OPERATION, "chat").build();
            return new LabelSet(labels, chat, chat.toBuilder().put(TOKEN_TYPE, "input").build(),
                    chat.toBuilder().put(TOKEN_TYPE, "output").build(),
                    labels.toBuilder().put(OUTCOME, "completed").build());
        }
    }

    /** At most this many label sets are kept; more (a very large model catalogue) are built per turn instead. */
    static final int MAX_LABEL_SETS = 1024;
    private final Map<Attributes, LabelSet> labelSets = new ConcurrentHashMap<>();

    LabelSet labelSet(Attributes labels) {
        LabelSet set = labelSets.get(labels);
        if (set == null) {
            set = LabelSet.of(labels);
            if (labelSets.size() < MAX_LABEL_SETS) {
                labelSets.putIfAbsent(labels, set);
            }
        }
        return set;
    }

    final class ModelCall {
        private final Span turn;
        private final Span span;
        private final Attributes labels;
        private final boolean captureContent;
        private final ModelPrices prices;
        private long chunkCount;

        private ModelCall(Span turn, Span span, Attributes labels, boolean captureContent, ModelPrices prices) {
            this.turn = turn;
            this.span = span;
            this.labels = labels;
            this.captureContent = captureContent;
            this.prices = prices;
        }

        /**
         * Runs {@code work} with the turn's trace and span ids in the logging context (MDC keys {@code trace_id},
         * {@code span_id}), for the turn's end, which runs on core's store writer, away from the request thread.
         */
        void withLogContext(Runnable work) {
            var ids = turn.getSpanContext();
            if (!ids.isValid()) {
                work.run();
                return;
            }
            MDC.put(MDC_TRACE_ID, ids.getTraceId());
            MDC.put(MDC_SPAN_ID, ids.getSpanId());
            try {
                work.run();
            } finally {
                MDC.remove(MDC_TRACE_ID);
                MDC.remove(MDC_SPAN_ID);
            }
        }

        /**
         * The labels of the target that answered: the first one's, unless the router fell back to another (then the
         * answer, its tokens and its cost count for the one that gave it).
         */
        private Attributes answeredBy(TurnOutcome outcome) {
            RouteOutcome route = outcome == null ? null : outcome.route();
            if (route == null || route.answeredBy() == null || route.attempts().size() < 2) {
                return labels;
            }
            String target = route.answeredBy();
            int slash = target.indexOf('/');
            if (slash <= 0) {
                return labels;
            }
            turn.setAttribute(ANSWERED_BY, target);
            return Attributes.of(PROVIDER, target.substring(0, slash), REQUEST_MODEL, target.substring(slash + 1));
        }

        /** Makes the provider-call span current, so a provider writes its trace context into the upstream request. */
        Scope makeCurrent() {
            return span.makeCurrent();
        }

        /**
         * One streamed chunk relayed. Counted here and added to the counter once, at the turn's end: an add per chunk
         * (a label-set look-up on the provider's I/O thread) was most of the metrics' cost on streams. Called under
         * the stream's lock, never concurrently.
         */
        void chunk() {
            chunkCount++;
        }

        /** The provider answered; {@code text} is the whole answer (recorded only with content capture on). */
        void answered(ChatResponse response, String text) {
            if (span.isRecording()) {
                if (response.finishReason() != null) {
                    span.setAttribute(FINISH_REASONS, List.of(response.finishReason().name().toLowerCase(Locale.ROOT)));
                }
                if (response.model() != null) {
                    span.setAttribute(RESPONSE_MODEL, response.model());
                }
                Usage u = response.usage();
                if (u != null && u.totalTokens() > 0) {
                    span.setAttribute(INPUT_TOKENS, (long) u.promptTokens());
                    span.setAttribute(OUTPUT_TOKENS, (long) u.completionTokens());
                }
                if (captureContent) {
                    span.setAttribute(OUTPUT_MESSAGES,
                            messagesJson(List.of(ChatMessage.assistant(text == null ? "" : text))));
                }
            }
            span.end();
        }

        /** The provider call failed, or the client or Parley ended it. */
        void failed(ParleyException error) {
            span.setAttribute(ERROR_TYPE, error.code().slug());
            span.setStatus(StatusCode.ERROR, error.getMessage());
            span.end();
        }

        /** The turn's end, once its answer is stored: metrics, and the turn span's last attributes. */
        void ended(TurnOutcome outcome) {
            LabelSet set = labelSet(answeredBy(outcome));
            Attributes labels = set.labels();
            if (chunkCount > 0) {
                chunks.add(chunkCount, labels);
            }
            if (outcome == null) {
                turn.end();
                return;
            }
            ErrorCode error = outcome.errorCode();
            Attributes ended = error == null ? set.chat()
                    : labels.toBuilder().put(OPERATION, "chat").put(ERROR_TYPE, error.slug()).build();
            if (outcome.latency() != null) {
                duration.record(seconds(outcome.latency()), ended);
            }
            if (outcome.timeToFirstToken() != null && error == null) {
                ttft.record(seconds(outcome.timeToFirstToken()), labels);
                turn.setAttribute(TTFT_MS, outcome.timeToFirstToken().toMillis());
            }
            Usage usage = outcome.usage();
            if (usage != null) {
                tokens.record(usage.promptTokens(), set.inputTokens());
                tokens.record(usage.completionTokens(), set.outputTokens());
                turn.setAttribute(INPUT_TOKENS, (long) usage.promptTokens());
                turn.setAttribute(OUTPUT_TOKENS, (long) usage.completionTokens());
                double usd = prices.cost(outcome.model(), usage);
                if (usd >= 0) {
                    cost.add(usd, labels);
                }
            }
            if (error == null) {
                turns.add(1, set.completed());
            } else {
                turns.add(1, labels.toBuilder().put(OUTCOME, "interrupted").put(ERROR_TYPE, error.slug()).build());
                if (PROVIDER_ERRORS.contains(error)) {
                    providerErrors.add(1, Attributes.of(PROVIDER, labels.get(PROVIDER), ERROR_TYPE, error.slug()));
                }
                turn.setAttribute(ERROR_TYPE, error.slug());
                turn.setStatus(StatusCode.ERROR);
            }
            turn.end();
        }
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    /** The GenAI conventions' message shape: [{"role":..,"parts":[{"type":"text","content":..}]}]. */
    static String messagesJson(List<ChatMessage> messages) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartArray();
            for (ChatMessage m : messages) {
                g.writeStartObject();
                g.writeStringField("role", m.role().name().toLowerCase(Locale.ROOT));
                g.writeArrayFieldStart("parts");
                g.writeStartObject();
                g.writeStringField("type", "text");
                g.writeStringField("content", m.content());
                g.writeEndObject();
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString();
    }
}

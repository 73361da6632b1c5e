package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;

/**
 * A provider whose answers a test scripts: tokens and tool call pieces emitted from the provider's own thread,
 * optionally held at a gate until the test releases it, then one of several (mis)behaving endings.
 */
class ScriptedProvider implements ChatModelProvider, AutoCloseable {
    /** The current span while each call was made. */
    final List<io.opentelemetry.api.trace.SpanContext> spansAtCall = new java.util.concurrent.CopyOnWriteArrayList<>();
    enum Ending { COMPLETE, ERROR, COMPLETE_TWICE_THEN_TOKEN, COMPLETE_THEN_ERROR, COMPLETE_THEN_PIECE, NOTHING }

    private final String id;
    private final List<ModelDescriptor> models;
    private final ExecutorService executor;
    final List<ChatRequest> requests = new CopyOnWriteArrayList<>();
    /** How each request was asked for, in order: "stream" or "complete" (the one-call answer). */
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<Stream> streams = new CopyOnWriteArrayList<>();

    /** What streams before the gate and after it: {@code String} tokens and {@link ToolCallDelta} pieces. */
    private volatile List<Object> before = List.of("Hello", ", world");
    private volatile List<Object> after = List.of();
    /** The whole calls the answer ends with; null: the scripted pieces joined per index. */
    private volatile List<ToolCall> wholeCalls;
    private volatile Ending ending = Ending.COMPLETE;
    private volatile ParleyException error = new ParleyException(ErrorCode.UPSTREAM_FAILURE, "provider exploded");
    private volatile Usage usage = new Usage(11, 3);
    private volatile boolean honourCancel = true;
    private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
    private volatile boolean answersWhole;

    ScriptedProvider(String id, ModelDescriptor... models) {
        this.id = id;
        this.models = List.of(models);
        this.executor = Executors.newCachedThreadPool();
    }

    static ModelDescriptor model(String id, String provider, int contextWindow, int maxOutput) {
        return new ModelDescriptor(id, provider, null, contextWindow, maxOutput);
    }

    ScriptedProvider tokens(String... tokens) {
        this.before = List.of((Object[]) tokens);
        return this;
    }

    /** Tokens emitted after {@link #hold()} is released. */
    ScriptedProvider tokensAfterGate(String... tokens) {
        this.after = List.of((Object[]) tokens);
        return this;
    }

    /** Tokens ({@code String}) and tool call pieces ({@link ToolCallDelta}) in the order they stream. */
    ScriptedProvider pieces(Object... pieces) {
        for (Object p : pieces) {
            if (!(p instanceof String) && !(p instanceof ToolCallDelta)) {
                throw new IllegalArgumentException("a token or a tool call piece: " + p);
            }
        }
        this.before = List.of(pieces);
        return this;
    }

    /** The whole calls of the answer's end, as a provider sends them that streams no pieces (or other ones). */
    ScriptedProvider wholeToolCalls(ToolCall... calls) {
        this.wholeCalls = List.of(calls);
        return this;
    }

    /** The scripted pieces joined per call, in index order: what a provider puts in its final answer. */
    static List<ToolCall> joined(List<Object> pieces) {
        java.util.TreeMap<Integer, String[]> calls = new java.util.TreeMap<>();
        for (Object p : pieces) {
            if (p instanceof ToolCallDelta d) {
                String[] c = calls.computeIfAbsent(d.index(), i -> new String[] { null, null, "" });
                c[0] = c[0] == null ? d.id() : c[0];
                c[1] = c[1] == null ? d.name() : c[1];
                c[2] += d.argumentsDelta();
            }
        }
        List<ToolCall> out = new ArrayList<>();
        calls.values().forEach(c -> out.add(new ToolCall(c[0], c[1] == null ? "?" : c[1], c[2])));
        return out;
    }

    ScriptedProvider ending(Ending ending) {
        this.ending = ending;
        return this;
    }

    ScriptedProvider failWith(ParleyException error) {
        this.error = error;
        this.ending = Ending.ERROR;
        return this;
    }

    ScriptedProvider usage(Usage usage) {
        this.usage = usage;
        return this;
    }

    /** A provider that does not call back when cancelled. */
    ScriptedProvider ignoreCancel() {
        this.honourCancel = false;
        return this;
    }

    /** New streams stop after their first tokens until {@link #release()}. */
    ScriptedProvider hold() {
        this.gate = new CompletableFuture<>();
        return this;
    }

    /**
     * Overrides {@link ChatModelProvider#complete} as a provider with a non-stream upstream call does: no tokens,
     * the whole text in {@code onComplete}. Without this the SPI's default (streaming) is used.
     */
    ScriptedProvider answersWhole() {
        this.answersWhole = true;
        return this;
    }

    void release() {
        gate.complete(null);
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
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        calls.add("stream");
        return run(request, handler, true);
    }

    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        if (!answersWhole) {
            return ChatModelProvider.super.complete(request, handler);
        }
        calls.add("complete");
        return run(request, handler, false);
    }

    private StreamHandle run(ChatRequest request, ChatStreamHandler handler, boolean emitTokens) {
        requests.add(request);
        // What a provider would write into its upstream request as traceparent.
        spansAtCall.add(io.opentelemetry.api.trace.Span.current().getSpanContext());
        Stream s = new Stream();
        streams.add(s);
        List<Object> first = before;
        List<Object> second = after;
        List<Object> all = new ArrayList<>(first);
        all.addAll(second);
        List<ToolCall> whole = wholeCalls;
        List<ToolCall> calls = whole != null ? whole : joined(all);
        Ending end = ending;
        ParleyException err = error;
        Usage u = usage;
        boolean honour = honourCancel;
        CompletableFuture<Void> g = gate;
        executor.execute(() -> {
            StringBuilder text = new StringBuilder();
            for (Object p : first) {
                if (s.cancelled.isDone()) {
                    break;
                }
                emit(p, text, emitTokens, handler);
            }
            try {
                CompletableFuture.anyOf(g, s.cancelled).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                handler.onError(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "test gate never opened"));
                return;
            }
            if (s.cancelled.isDone()) {
                if (honour) {
                    handler.onError(new ParleyException(ErrorCode.CANCELLED, "cancelled by provider"));
                    return;
                }
                // A misbehaving provider: ignores the cancel and carries on once the gate opens.
                g.join();
            }
            for (Object p : second) {
                emit(p, text, emitTokens, handler);
            }
            ChatResponse response = new ChatResponse(text.toString(), calls,
                    calls.isEmpty() ? FinishReason.STOP : FinishReason.TOOL_CALLS, u, request.model());
            switch (end) {
                case COMPLETE -> handler.onComplete(response);
                case ERROR -> handler.onError(err);
                case COMPLETE_TWICE_THEN_TOKEN -> {
                    handler.onComplete(response);
                    handler.onComplete(new ChatResponse("second", List.of(), FinishReason.STOP, u, request.model()));
                    handler.onToken("late");
                    handler.onError(err);
                }
                case COMPLETE_THEN_PIECE -> {
                    handler.onComplete(response);
                    handler.onToolCallDelta(new ToolCallDelta(0, "call_late", "late", "{}"));
                    handler.onAnsweringModel(id, "late");
                }
                case COMPLETE_THEN_ERROR -> {
                    handler.onComplete(response);
                    handler.onError(err);
                }
                case NOTHING -> {
                }
            }
            s.done.complete(null);
        });
        return s;
    }

    private static void emit(Object piece, StringBuilder text, boolean stream, ChatStreamHandler handler) {
        if (piece instanceof ToolCallDelta d) {
            if (stream) {
                handler.onToolCallDelta(d);
            }
            return;
        }
        text.append((String) piece);
        if (stream) {
            handler.onToken((String) piece);
        }
    }

    List<Stream> streams() {
        return new ArrayList<>(streams);
    }

    @Override
    public void close() {
        release();
        executor.shutdownNow();
    }

    static final class Stream implements StreamHandle {
        final CompletableFuture<Void> cancelled = new CompletableFuture<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();

        @Override
        public void cancel() {
            cancelled.complete(null);
        }
    }

    /**
     * The same provider in a newer plugin version: another bundle, so another class, under the same id (an upgrade
     * side by side, ADR 6). Two instances of one class under one id are a configuration mistake the router refuses.
     */
    static final class NextVersion extends ScriptedProvider {
        NextVersion(String id, ModelDescriptor... models) {
            super(id, models);
        }
    }
}

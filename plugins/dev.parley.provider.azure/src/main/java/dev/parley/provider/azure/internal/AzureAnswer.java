package dev.parley.provider.azure.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.completions.CompletionUsage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One answer in flight: collects the streamed chunks (or the whole completion) into a {@link ChatResponse}, and makes
 * sure the handler gets exactly one terminal call, whatever races between the upstream, a cancel and the deadline.
 */
final class AzureAnswer implements StreamHandle {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ChatStreamHandler handler;
    private final String model;
    private final int maxAnswerChars;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicReference<Runnable> cancelUpstream = new AtomicReference<>();
    private final List<Runnable> onEnd = new ArrayList<>();
    /**
     * Held around every call into the handler, which must never overlap: chunks arrive on the SDK's stream thread, a
     * cancel or the deadline ends the answer from another. Once {@link #ended} is set, no piece is handed on.
     */
    private final ReentrantLock handlerLock = new ReentrantLock();
    /** Set (under onEnd's lock) once the handler got its terminal call. */
    private boolean told;
    private final StringBuilder text = new StringBuilder();
    /** Tool calls by their index in the stream: the first delta has id and name, later ones argument pieces. */
    private final TreeMap<Long, Call> calls = new TreeMap<>();
    /** How many streamed calls have been announced to the handler: the next one's {@link ToolCallDelta#index()}. */
    private int announced;
    private int answerChars;
    private String finishReason;
    private Usage usage;
    private String answeredBy;
    private String filtered = "";

    AzureAnswer(ChatStreamHandler handler, String model, int maxAnswerChars) {
        this.handler = handler;
        this.model = model;
        this.maxAnswerChars = maxAnswerChars;
    }

    /** What stops the upstream call; run at once if the answer has already ended. */
    void attach(Runnable cancel) {
        cancelUpstream.set(cancel);
        if (ended.get()) {
            runCancel();
        }
    }

    /** Runs once the answer has ended and its handler has been told, however it ends. */
    void whenEnded(Runnable r) {
        synchronized (onEnd) {
            if (!told) {
                onEnd.add(r);
                return;
            }
        }
        r.run();
    }

    boolean isEnded() {
        return ended.get();
    }

    @Override
    public void cancel() {
        fail(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    /** Ends the answer with {@code error} (if it has not ended) and stops the upstream call. */
    void fail(ParleyException error) {
        if (end()) {
            runCancel();
            handlerLock.lock();
            try {
                handler.onError(error);
            } finally {
                handlerLock.unlock();
                told();
            }
        }
    }

    /** Hands {@code call} on unless the answer has ended (a cancel, the deadline) meanwhile. */
    private void tell(Runnable call) {
        handlerLock.lock();
        try {
            if (!ended.get()) {
                call.run();
            }
        } finally {
            handlerLock.unlock();
        }
    }

    // ---- streamed ---------------------------------------------------------------------------------------------

    /** One chunk, on the SDK's stream thread; chunks of one stream never overlap. */
    void onChunk(ChatCompletionChunk chunk) {
        if (ended.get()) {
            return;
        }
        chunk._model().asKnown().filter(s -> !s.isEmpty()).ifPresent(m -> answeredBy = m);
        chunk.usage().ifPresent(u -> usage = usage(u));
        for (ChatCompletionChunk.Choice choice : chunk.choices()) {
            if (choice.index() != 0) {
                continue;
            }
            var delta = choice.delta();
            Optional<String> content = delta.content();
            if (content.isPresent() && !content.get().isEmpty()) {
                String piece = content.get();
                if (!grow(piece.length())) {
                    return;
                }
                text.append(piece);
                tell(() -> handler.onToken(piece));
            }
            Optional<String> refusal = delta.refusal();
            if (refusal.isPresent() && !refusal.get().isEmpty()) {
                fail(new ParleyException(ErrorCode.CONTENT_FILTERED, "the model refused: "
                        + AzureErrors.shorten(refusal.get())));
                return;
            }
            for (var tc : delta.toolCalls().orElse(List.of())) {
                Call call = calls.computeIfAbsent(tc.index(), i -> new Call());
                tc.id().ifPresent(id -> call.id = id);
                var f = tc.function();
                if (f.isPresent()) {
                    f.get().name().ifPresent(n -> call.name = n);
                    String a = f.get().arguments().orElse("");
                    if (!grow(a.length())) {
                        return;
                    }
                    call.arguments.append(a);
                }
                streamPiece(call);
            }
            filtered = filteredOf(choice._additionalProperties());
            choice.finishReason().ifPresent(f -> finishReason = f.asString());
        }
    }

    /**
     * Hands on what {@code call} brought since its last piece: once its name is known it is announced (index, id,
     * name, the arguments so far), later only the arguments that came after.
     */
    private void streamPiece(Call call) {
        if (call.name == null) {
            return;
        }
        ToolCallDelta piece;
        if (call.deltaIndex < 0) {
            call.deltaIndex = announced++;
            piece = new ToolCallDelta(call.deltaIndex, call.id, call.name, call.arguments.toString());
        } else if (call.arguments.length() > call.sent) {
            piece = new ToolCallDelta(call.deltaIndex, null, null, call.arguments.substring(call.sent));
        } else {
            return;
        }
        call.sent = call.arguments.length();
        tell(() -> handler.onToolCallDelta(piece));
    }

    /** The stream ended; {@code error} is what the SDK reported, if anything. */
    void onStreamEnd(Optional<Throwable> error) {
        if (ended.get()) {
            return;
        }
        if (error.isPresent()) {
            fail(AzureErrors.map(error.get(), model));
            return;
        }
        if (finishReason == null) {
            // The SDK ends quietly on a connection closed between events: without a finish_reason the answer is cut.
            fail(new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "the connection to Azure OpenAI closed before the answer was complete"));
            return;
        }
        complete();
    }

    // ---- whole ------------------------------------------------------------------------------------------------

    void onCompletion(ChatCompletion completion) {
        if (ended.get()) {
            return;
        }
        completion._model().asKnown().filter(s -> !s.isEmpty()).ifPresent(m -> answeredBy = m);
        completion.usage().ifPresent(u -> usage = usage(u));
        if (completion.choices().isEmpty()) {
            fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Azure OpenAI answered without a choice"));
            return;
        }
        ChatCompletion.Choice choice = completion.choices().get(0);
        var message = choice.message();
        Optional<String> refusal = message.refusal();
        if (refusal.isPresent() && !refusal.get().isEmpty()) {
            fail(new ParleyException(ErrorCode.CONTENT_FILTERED, "the model refused: "
                    + AzureErrors.shorten(refusal.get())));
            return;
        }
        String content = message.content().orElse("");
        if (!grow(content.length())) {
            return;
        }
        text.append(content);
        long i = 0;
        for (ChatCompletionMessageToolCall call : message.toolCalls().orElse(List.of())) {
            if (call.isFunction()) {
                var f = call.asFunction();
                if (!grow(f.function().arguments().length())) {
                    return;
                }
                Call c = new Call();
                c.id = f.id();
                c.name = f.function().name();
                c.arguments.append(f.function().arguments());
                calls.put(i++, c);
            }
        }
        filtered = filteredOf(choice._additionalProperties());
        finishReason = choice.finishReason().asString();
        complete();
    }

    // ---- end --------------------------------------------------------------------------------------------------

    private void complete() {
        if ("content_filter".equals(finishReason)) {
            // Azure's content filter stopped the answer (the text so far was streamed already).
            fail(new ParleyException(ErrorCode.CONTENT_FILTERED,
                    "Azure OpenAI's content filter stopped the answer" + filtered));
            return;
        }
        List<ToolCall> toolCalls = new ArrayList<>();
        List<ToolCallDelta> closing = new ArrayList<>();
        for (Call c : calls.values()) {
            if (c.name == null) {
                fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Azure OpenAI sent a tool call without a name"));
                return;
            }
            boolean none = c.arguments.isEmpty();
            toolCalls.add(new ToolCall(c.id, c.name, none ? "{}" : c.arguments.toString()));
            if (none && c.deltaIndex >= 0) {
                // A streamed call without arguments: its pieces must join to the "{}" it is given.
                closing.add(new ToolCallDelta(c.deltaIndex, null, null, "{}"));
            }
        }
        FinishReason reason = switch (finishReason == null ? "" : finishReason) {
            case "stop" -> FinishReason.STOP;
            case "length" -> FinishReason.LENGTH;
            case "tool_calls", "function_call" -> FinishReason.TOOL_CALLS;
            default -> FinishReason.OTHER;
        };
        if (reason == FinishReason.STOP && !toolCalls.isEmpty()) {
            reason = FinishReason.TOOL_CALLS; // a named tool choice ends with "stop" and still carries calls
        }
        var response = new ChatResponse(text.toString(), toolCalls, reason, usage,
                answeredBy == null ? model : answeredBy);
        if (end()) {
            handlerLock.lock();
            try {
                closing.forEach(handler::onToolCallDelta);
                handler.onComplete(response);
            } finally {
                handlerLock.unlock();
                told();
            }
        }
    }

    private boolean grow(int chars) {
        answerChars += chars;
        if (answerChars > maxAnswerChars) {
            fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "the answer is longer than this provider's limit of " + maxAnswerChars + " characters"));
            return false;
        }
        return true;
    }

    private boolean end() {
        return ended.compareAndSet(false, true);
    }

    /** After the terminal call: what waits for the end (the drain on deactivation, the deadline) may go on. */
    private void told() {
        List<Runnable> rs;
        synchronized (onEnd) {
            told = true;
            rs = List.copyOf(onEnd);
            onEnd.clear();
        }
        rs.forEach(Runnable::run);
    }

    private void runCancel() {
        Runnable r = cancelUpstream.getAndSet(null);
        if (r != null) {
            r.run();
        }
    }

    /** A tool call as it accumulates. */
    private static final class Call {
        String id;
        String name;
        final StringBuilder arguments = new StringBuilder();
        /** Its index among the streamed pieces, -1 until announced. */
        int deltaIndex = -1;
        /** How much of {@link #arguments} has been handed on. */
        int sent;
    }

    static Usage usage(CompletionUsage u) {
        long cached = u.promptTokensDetails().flatMap(d -> d.cachedTokens()).orElse(0L);
        return new Usage((int) u.promptTokens(), (int) u.completionTokens(), (int) cached);
    }

    /** The categories Azure's {@code content_filter_results} of a choice mark as filtered. */
    private static String filteredOf(Map<String, JsonValue> extra) {
        JsonValue results = extra.get("content_filter_results");
        if (results == null) {
            return "";
        }
        try {
            JsonNode node = JSON.valueToTree(results);
            return AzureErrors.filteredCategories(node);
        } catch (RuntimeException unreadable) {
            return "";
        }
    }
}

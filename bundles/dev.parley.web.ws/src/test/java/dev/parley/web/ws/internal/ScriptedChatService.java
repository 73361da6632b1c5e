package dev.parley.web.ws.internal;

import dev.parley.api.chat.Chat;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link ChatService} double that streams scripted answers from its own threads, the way core does. The user
 * message content is the script:
 * <ul>
 * <li>{@code echo w1 w2 ...}: one token per word, then complete</li>
 * <li>{@code tick n}: n tokens {@code t0..t(n-1)}, paced ~2 ms apart, then complete</li>
 * <li>{@code hold}: one token, then wait for cancel</li>
 * <li>{@code flood size}: tokens of {@code size} characters as fast as possible until cancelled</li>
 * <li>{@code fail-rate}: fails with rate-limited, retry after 7 s</li>
 * <li>{@code tools}: names the answering model {@code answering-model}, then text and two tool calls in pieces</li>
 * </ul>
 * Like core, a cancelled turn ends with {@code onError(CANCELLED)}. Conversation ids starting with
 * {@code unknown} and blank content are rejected synchronously.
 */
final class ScriptedChatService implements ChatService, Chat, AutoCloseable {
    /** The caller of the latest {@link #as}: what the front end passed on from the edge. */
    volatile dev.parley.api.identity.Principal lastCaller;

    @Override
    public Chat as(dev.parley.api.identity.Principal caller) {
        lastCaller = java.util.Objects.requireNonNull(caller, "caller");
        return this;
    }

    /** The current span each send was called with (what core would start its turn span under). */
    final List<io.opentelemetry.api.trace.SpanContext> spansAtSend = new java.util.concurrent.CopyOnWriteArrayList<>();

    static final String MODEL = "test-model";

    private final ExecutorService streams = Executors.newCachedThreadPool();
    private final AtomicInteger ids = new AtomicInteger();
    final List<Conversation> created = new CopyOnWriteArrayList<>();
    final List<ScriptedTurn> turns = new CopyOnWriteArrayList<>();

    /** One turn as the double saw it. */
    static final class ScriptedTurn {
        final String conversationId;
        final String content;
        final CompletableFuture<Void> cancelled = new CompletableFuture<>();
        final CompletableFuture<String> ended = new CompletableFuture<>();
        final AtomicInteger tokensSent = new AtomicInteger();

        ScriptedTurn(String conversationId, String content) {
            this.conversationId = conversationId;
            this.content = content;
        }

        boolean wasCancelled() {
            return cancelled.isDone();
        }
    }

    ScriptedTurn turnWithContent(String content) {
        return turns.stream().filter(t -> t.content.equals(content)).findFirst().orElse(null);
    }

    @Override
    public Conversation createConversation(NewConversation spec) {
        var c = new Conversation("conv-" + ids.incrementAndGet(), spec.title(), spec.model(), spec.systemPrompt(),
                Instant.now(), null);
        created.add(c);
        return c;
    }

    @Override
    public StreamHandle send(String conversationId, SendMessage message, TurnListener listener) {
        spansAtSend.add(io.opentelemetry.api.trace.Span.current().getSpanContext());
        if (conversationId.startsWith("unknown")) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "no conversation " + conversationId);
        }
        if (message.content() == null || message.content().isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "content must not be blank");
        }
        var turn = new ScriptedTurn(conversationId, message.content());
        turns.add(turn);
        streams.execute(() -> run(turn, listener));
        return () -> turn.cancelled.complete(null);
    }

    private void run(ScriptedTurn turn, TurnListener listener) {
        int n = ids.incrementAndGet();
        var user = new StoredMessage("user-" + n, turn.conversationId, 1, Role.USER, turn.content,
                MessageStatus.COMPLETE, null, null, null, null, null, Instant.now());
        String answerId = "answer-" + n;
        listener.onAccepted(user, answerId, MODEL);
        String[] words = turn.content.split(" ");
        var text = new StringBuilder();
        try {
            switch (words[0]) {
                case "echo" -> {
                    for (int i = 1; i < words.length; i++) {
                        token(turn, listener, text, words[i]);
                    }
                }
                case "tick" -> {
                    int count = Integer.parseInt(words[1]);
                    for (int i = 0; i < count; i++) {
                        if (waitForCancel(turn, 2)) {
                            cancelled(turn, listener);
                            return;
                        }
                        token(turn, listener, text, "t" + i);
                    }
                }
                case "hold" -> {
                    token(turn, listener, text, "partial");
                    if (waitForCancel(turn, 30_000)) {
                        cancelled(turn, listener);
                        return;
                    }
                }
                case "flood" -> {
                    String big = "x".repeat(Integer.parseInt(words[1]));
                    for (int i = 0; i < 20_000; i++) {
                        if (turn.wasCancelled()) {
                            cancelled(turn, listener);
                            return;
                        }
                        listener.onToken(big);
                        turn.tokensSent.incrementAndGet();
                    }
                }
                case "tools" -> {
                    listener.onAnsweringModel("scripted", "answering-model");
                    token(turn, listener, text, "Let me ");
                    listener.onToolCallDelta(new ToolCallDelta(0, "call_a", "weather", ""));
                    listener.onToolCallDelta(new ToolCallDelta(0, null, null, "{\"ci"));
                    listener.onToolCallDelta(new ToolCallDelta(0, null, null, "ty\":\"Oslo\"}"));
                    listener.onToolCallDelta(new ToolCallDelta(1, "call_b", "time", "{\"tz\":"));
                    listener.onToolCallDelta(new ToolCallDelta(1, null, null, "\"CET\"}"));
                    token(turn, listener, text, "Done.");
                }
                case "fail-rate" -> {
                    listener.onError(new ParleyException(ErrorCode.RATE_LIMITED, "provider asks us to slow down",
                            Duration.ofSeconds(7), null));
                    turn.ended.complete("error");
                    return;
                }
                default -> token(turn, listener, text, "?");
            }
            var answer = new StoredMessage(answerId, turn.conversationId, 2, Role.ASSISTANT, text.toString(),
                    MessageStatus.COMPLETE, MODEL, new Usage(5, turn.tokensSent.get()), null, 12L, 3L,
                    Instant.parse("2026-01-02T03:04:05Z"));
            listener.onComplete(new TurnResult(answer, FinishReason.STOP, Duration.ofMillis(12), Duration.ofMillis(3),
                    new dev.parley.api.chat.AnswerRoute("fast", "scripted", MODEL, 2,
                            new java.math.BigDecimal("0.00042"))));
            turn.ended.complete("complete");
        } catch (RuntimeException e) {
            turn.ended.completeExceptionally(e);
            throw e;
        }
    }

    private static void token(ScriptedTurn turn, TurnListener listener, StringBuilder text, String delta) {
        text.append(delta);
        listener.onToken(delta);
        turn.tokensSent.incrementAndGet();
    }

    private static void cancelled(ScriptedTurn turn, TurnListener listener) {
        listener.onError(new ParleyException(ErrorCode.CANCELLED, "the turn was cancelled"));
        turn.ended.complete("cancelled");
    }

    /** Paces the stream and reacts to cancel at once. @return true when cancelled */
    private static boolean waitForCancel(ScriptedTurn turn, long millis) {
        try {
            turn.cancelled.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        } catch (ExecutionException e) {
            return true;
        }
    }

    @Override
    public Optional<Conversation> conversation(String id) {
        return created.stream().filter(c -> c.id().equals(id)).findFirst();
    }

    @Override
    public Page<Conversation> conversations(int offset, int limit) {
        return new Page<>(created, offset, limit, created.size());
    }

    @Override
    public boolean deleteConversation(String id) {
        return created.removeIf(c -> c.id().equals(id));
    }

    @Override
    public List<StoredMessage> messages(String conversationId) {
        return List.of();
    }

    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        throw new UnsupportedOperationException("not used by the WebSocket");
    }

    @Override
    public StreamHandle sendWhole(String conversationId, SendMessage message, TurnListener listener) {
        throw new UnsupportedOperationException("the WebSocket streams every answer");
    }

    /** No stream log to resume from here: core's resumption is tested in core and end to end. */
    @Override
    public StreamHandle resume(String conversationId, String answerId, long after, TurnListener listener) {
        throw new dev.parley.api.error.ParleyException(dev.parley.api.error.ErrorCode.NOT_FOUND,
                "Answers are not resumable here: no stream log is set up.");
    }

    /** Whether this plays a core with a stream log (the turn then outlives its socket). */
    volatile boolean resumable;
    /** How often the socket asked, which it does when a socket closes. */
    final java.util.concurrent.atomic.AtomicInteger resumableAsked = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public boolean resumable() {
        resumableAsked.incrementAndGet();
        return resumable;
    }

    @Override
    public StreamHandle completeWhole(ChatRequest request, ChatStreamHandler handler) {
        throw new UnsupportedOperationException("not used by the WebSocket");
    }

    @Override
    public int estimateInputTokens(ChatRequest request) {
        throw new UnsupportedOperationException("the WebSocket front end does not count tokens");
    }

    @Override
    public List<ModelDescriptor> models() {
        return List.of(new ModelDescriptor(MODEL, "test", null, 8192, 1024));
    }

    @Override
    public void close() {
        for (ScriptedTurn t : turns) {
            t.cancelled.complete(null);
        }
        streams.shutdownNow();
    }
}

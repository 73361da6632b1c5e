package dev.parley.web.rest.internal;

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
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ChatService that keeps conversations in memory and streams scripted tokens from its own thread, like a
 * provider would. Tests set the script fields before a request.
 */
final class ScriptedChatService implements ChatService, Chat {
    /** The caller of the latest {@link #as}: what the front end passed on from the edge. */
    volatile dev.parley.api.identity.Principal lastCaller;

    @Override
    public Chat as(dev.parley.api.identity.Principal caller) {
        lastCaller = java.util.Objects.requireNonNull(caller, "caller");
        return this;
    }

    static final String DEFAULT_MODEL = "test-model";

    private final ExecutorService providerThreads = Executors.newCachedThreadPool();
    private final Map<String, Conversation> conversations = new ConcurrentHashMap<>();
    private final Map<String, List<StoredMessage>> messages = new ConcurrentHashMap<>();
    private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);

    volatile List<String> tokens = List.of("Hel", "lo", " world");
    /** When set, streamed instead of {@link #tokens}: {@code String} tokens and {@link ToolCallDelta} pieces. */
    volatile List<Object> pieces;
    /** When set, named as the answering model (provider "scripted") before the first token or piece. */
    volatile String answeringModel;
    /** Reported through the listener after the tokens, instead of completing. */
    volatile ParleyException failAfterTokens;
    /** Thrown synchronously by send/complete, before anything is accepted. */
    volatile ParleyException failOnCall;
    /** When set, the stream waits on it after the first token. */
    volatile CountDownLatch gateAfterFirstToken;
    /** Emit tokens until cancelled. */
    volatile boolean endless;
    volatile List<ToolCall> toolCalls = List.of();
    /** When set, the finish reason of the answer; else STOP, or TOOL_CALLS with {@link #toolCalls}. */
    volatile FinishReason finishReason;
    volatile int cachedTokens;
    /** Thrown by {@link #models()}: a bug in core, as the edge sees it. */
    volatile RuntimeException modelsBug;

    final AtomicInteger cancels = new AtomicInteger();
    final List<ChatRequest> completions = new CopyOnWriteArrayList<>();
    final List<SendMessage> sends = new CopyOnWriteArrayList<>();
    /** Which ChatService call each turn or completion came through, in order: send, sendWhole, complete, completeWhole. */
    final List<String> calls = new CopyOnWriteArrayList<>();

    void close() {
        providerThreads.shutdownNow();
    }

    @Override
    public Conversation createConversation(NewConversation spec) {
        Instant now = Instant.ofEpochMilli(clock.incrementAndGet());
        Conversation c = new Conversation(UUID.randomUUID().toString(), spec.title(), spec.model(), spec.systemPrompt(),
                now, now);
        conversations.put(c.id(), c);
        messages.put(c.id(), new CopyOnWriteArrayList<>());
        return c;
    }

    @Override
    public Optional<Conversation> conversation(String id) {
        return Optional.ofNullable(conversations.get(id));
    }

    @Override
    public Page<Conversation> conversations(int offset, int limit) {
        List<Conversation> all = new ArrayList<>(conversations.values());
        all.sort(Comparator.comparing(Conversation::createdAt).reversed());
        List<Conversation> page = all.subList(Math.min(offset, all.size()), Math.min(offset + limit, all.size()));
        return new Page<>(page, offset, limit, all.size());
    }

    @Override
    public boolean deleteConversation(String id) {
        messages.remove(id);
        return conversations.remove(id) != null;
    }

    @Override
    public List<StoredMessage> messages(String conversationId) {
        List<StoredMessage> list = messages.get(conversationId);
        if (list == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "No conversation " + conversationId);
        }
        return List.copyOf(list);
    }

    @Override
    public StreamHandle send(String conversationId, SendMessage message, TurnListener listener) {
        return send(conversationId, message, listener, false);
    }

    /** Answers like a provider with a one-call answer: no tokens, the whole text at the end. */
    @Override
    public StreamHandle sendWhole(String conversationId, SendMessage message, TurnListener listener) {
        return send(conversationId, message, listener, true);
    }

    /** The listener of the last resume, which a test drives; null: a resume is not-found (no stream log). */
    volatile java.util.concurrent.CompletableFuture<TurnListener> resumed;

    /** Core's resumption itself is tested in core and end to end; this hands the listener to the test. */
    @Override
    public StreamHandle resume(String conversationId, String answerId, long after, TurnListener listener) {
        var waiting = resumed;
        if (waiting == null) {
            throw new dev.parley.api.error.ParleyException(dev.parley.api.error.ErrorCode.NOT_FOUND,
                    "Answers are not resumable here: no stream log is set up.");
        }
        waiting.complete(listener);
        return () -> { };
    }

    @Override
    public boolean resumable() {
        return false;
    }

    private StreamHandle send(String conversationId, SendMessage message, TurnListener listener, boolean whole) {
        List<StoredMessage> list = messages.get(conversationId);
        if (list == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "No conversation " + conversationId);
        }
        if (failOnCall != null) {
            throw failOnCall;
        }
        sends.add(message);
        calls.add(whole ? "sendWhole" : "send");
        String model = message.model() == null ? DEFAULT_MODEL : message.model();
        StoredMessage user = new StoredMessage(UUID.randomUUID().toString(), conversationId, list.size() + 1L, Role.USER,
                message.content(), MessageStatus.COMPLETE, null, null, null, null, null, Instant.now());
        list.add(user);
        String answerId = UUID.randomUUID().toString();
        Handle handle = new Handle();
        providerThreads.execute(() -> {
            listener.onAccepted(user, answerId, model);
            StringBuilder text = new StringBuilder();
            boolean finished = stream(handle, piece -> {
                if (piece instanceof ToolCallDelta d) {
                    if (!whole) {
                        listener.onToolCallDelta(d);
                    }
                    return;
                }
                text.append(piece);
                if (!whole) {
                    listener.onToken((String) piece);
                }
            }, whole ? null : listener::onAnsweringModel);
            ParleyException failure = !finished ? new ParleyException(ErrorCode.CANCELLED, "cancelled") : failAfterTokens;
            StoredMessage answer = new StoredMessage(answerId, conversationId, list.size() + 1L, Role.ASSISTANT,
                    text.toString(), failure == null ? MessageStatus.COMPLETE : MessageStatus.INTERRUPTED, model,
                    new Usage(7, tokens.size()), failure == null ? null : failure.code().slug(), 42L, 5L, Instant.now());
            list.add(answer);
            if (failure != null) {
                listener.onError(failure);
            } else {
                listener.onComplete(new TurnResult(answer, FinishReason.STOP, Duration.ofMillis(42), Duration.ofMillis(5),
                        new dev.parley.api.chat.AnswerRoute(model, "scripted", model, 1,
                                new java.math.BigDecimal("0.0125"))));
            }
        });
        return handle;
    }

    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return complete(request, handler, false);
    }

    /** Answers like a provider with a one-call answer: no tokens, the whole text at the end. */
    @Override
    public StreamHandle completeWhole(ChatRequest request, ChatStreamHandler handler) {
        return complete(request, handler, true);
    }

    private StreamHandle complete(ChatRequest request, ChatStreamHandler handler, boolean whole) {
        if (failOnCall != null) {
            throw failOnCall;
        }
        if (!request.model().isBlank() && models().stream().noneMatch(m -> m.id().equals(request.model()))) {
            throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "Model '" + request.model() + "' is not available.");
        }
        completions.add(request);
        calls.add(whole ? "completeWhole" : "complete");
        String model = request.model().isBlank() ? DEFAULT_MODEL : request.model();
        Handle handle = new Handle();
        providerThreads.execute(() -> {
            StringBuilder text = new StringBuilder();
            boolean finished = stream(handle, piece -> {
                if (piece instanceof ToolCallDelta d) {
                    if (!whole) {
                        handler.onToolCallDelta(d);
                    }
                    return;
                }
                text.append(piece);
                if (!whole) {
                    handler.onToken((String) piece);
                }
            }, whole ? null : handler::onAnsweringModel);
            if (!finished) {
                handler.onError(new ParleyException(ErrorCode.CANCELLED, "cancelled"));
            } else if (failAfterTokens != null) {
                handler.onError(failAfterTokens);
            } else {
                List<ToolCall> calls = toolCalls;
                FinishReason reason = finishReason != null ? finishReason
                        : calls.isEmpty() ? FinishReason.STOP : FinishReason.TOOL_CALLS;
                handler.onComplete(new ChatResponse(text.toString(), calls, reason,
                        new Usage(7, tokens.size(), cachedTokens), model));
            }
        });
        return handle;
    }

    /** @return false when cancelled */
    private boolean stream(Handle handle, java.util.function.Consumer<Object> sink,
            java.util.function.BiConsumer<String, String> answering) {
        try {
            String answeredBy = answeringModel;
            if (answering != null && answeredBy != null) {
                answering.accept("scripted", answeredBy);
            }
            if (endless) {
                for (int i = 0; !handle.cancelled.await(10, TimeUnit.MILLISECONDS); i++) {
                    sink.accept("t" + i + " ");
                }
                return false;
            }
            List<?> script = pieces != null ? pieces : tokens;
            for (int i = 0; i < script.size(); i++) {
                if (handle.cancelled.getCount() == 0) {
                    return false;
                }
                sink.accept(script.get(i));
                CountDownLatch gate = gateAfterFirstToken;
                if (i == 0 && gate != null && !gate.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("test never released the gate");
                }
            }
            return handle.cancelled.getCount() != 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Four characters per token, as the SPI's default estimate; unknown models are refused like a completion. */
    @Override
    public int estimateInputTokens(ChatRequest request) {
        if (models().stream().noneMatch(m -> m.id().equals(request.model()))) {
            throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "model " + request.model() + " is not available");
        }
        int chars = 0;
        for (var m : request.messages()) {
            chars += m.content().length();
        }
        return (chars + 3) / 4;
    }

    @Override
    public List<ModelDescriptor> models() {
        if (modelsBug != null) {
            throw modelsBug;
        }
        return List.of(new ModelDescriptor("other-model", "other", "Other", 8000, 1000),
                new ModelDescriptor(DEFAULT_MODEL, "scripted", "Test model", 4096, 1024));
    }

    private final class Handle implements StreamHandle {
        final CountDownLatch cancelled = new CountDownLatch(1);

        @Override
        public void cancel() {
            if (cancelled.getCount() > 0) {
                cancels.incrementAndGet();
            }
            cancelled.countDown();
        }
    }
}

package dev.parley.core.internal;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.Role;
import dev.parley.api.stream.StreamLog;
import java.util.function.Supplier;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.limits.Budgets;
import dev.parley.api.limits.Reservation;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.api.routing.ModelAccess;
import dev.parley.api.store.ConversationStore;
import dev.parley.api.store.NewMessage;
import dev.parley.api.store.TenantConversations;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.chat.Chat;
import dev.parley.api.usage.UsageAttempt;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsageRecord;
import dev.parley.api.usage.UsageStore;

/**
 * The chat orchestration: validates and persists turns, routes them to whichever provider serves the model,
 * and keeps every accepted user message and every partial answer even when providers fail, clients leave
 * or the server stops.
 */
@Component(service = { ChatService.class, CoreStatus.class }, configurationPid = CoreConfig.PID)
@Designate(ocd = CoreConfig.class)
public final class CoreChatService implements ChatService, CoreStatus {
    /** EventAdmin topics posted when a turn (or stateless completion) ends. */
    public static final String TOPIC_TURN_COMPLETED = "dev/parley/chat/TURN_COMPLETED";
    public static final String TOPIC_TURN_FAILED = "dev/parley/chat/TURN_FAILED";

    static final String SERVER_RESTARTED = "server restarted";
    static final String SHUTTING_DOWN = "server shutting down";
    /** Threads that end turns (store write + terminal callback); a turn holds one only for that write. */
    static final int STORE_WRITERS = 4;

    private static final Logger LOG = LoggerFactory.getLogger(CoreChatService.class);

    private final ConversationStore store;
    private final ModelRouter router;
    private final InFlight<GuardedStream> inFlight = new InFlight<>();
    private final AtomicReference<EventAdmin> eventAdmin = new AtomicReference<>();
    /**
     * Ends turns and completions: a turn's one store write and its listener's terminal callback, and for both the
     * log line and the event, so that a provider's I/O thread never waits for the database, the log or EventAdmin.
     * Threads exist only while there is work; after deactivation the end runs on the calling thread.
     */
    private final ThreadPoolExecutor storeWriter;
    private volatile CoreConfig config;
    private volatile ModelPrices prices;
    /** Traces and metrics through the OpenTelemetry service while there is one; no-op otherwise. */
    private volatile ChatTelemetry telemetry = ChatTelemetry.NOOP;
    /** Where usage records go; null while there is no store (they wait in the recorder's queue). */
    private volatile UsageStore usageStore;
    /** One usage record per turn or completion, written in batches off the request path. */
    private final UsageRecorder usage = new UsageRecorder(() -> usageStore, 200, 100_000, 500);
    /** The request checks every chat API shares; their defaults until the configured component is bound. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ChatRequestRules requestRules;
    private final ChatRequestRules defaultRules = new ChatRequestRules();
    /** Budgets per key, user and tenant while a budgets bundle is there; none: no limits. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile Budgets budgets;
    /** Token and per-model rate limits while a rate limiter is there; none: no such limits. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ChatRateLimits rateLimits;
    /** Which models each tenant may use, while a model access service is there; none: every model, every tenant. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ModelAccess modelAccess;
    /** Where streamed answers are logged for resuming, while a stream log is there; none: not resumable. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile StreamLog streamLog;

    @Activate
    public CoreChatService(@Reference ConversationStore store, @Reference ModelRouter router, CoreConfig config) {
        this.store = Objects.requireNonNull(store, "store");
        this.router = Objects.requireNonNull(router, "router");
        this.config = config;
        this.prices = prices(config);
        router.prices(prices);
        this.storeWriter = storeWriter();
        recoverInterruptedAnswers();
    }

    /** The configured model prices; a malformed entry is reported and no cost is counted until it is fixed. */
    private static ModelPrices prices(CoreConfig config) {
        try {
            return ModelPrices.parse(config.modelPrices());
        } catch (IllegalArgumentException e) {
            LOG.error("event=model_prices_invalid reason=\"{}\" hint=\"no cost is counted until PARLEY_MODEL_PRICES "
                    + "is fixed\"", e.getMessage());
            return ModelPrices.NONE;
        }
    }

    private static ThreadPoolExecutor storeWriter() {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(STORE_WRITERS, STORE_WRITERS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "parley-core-store-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    @Modified
    void modified(CoreConfig config) {
        this.config = config;
        this.prices = prices(config);
        router.prices(prices);
        LOG.info("core configuration updated defaultModel={} maxMessageChars={} drainTimeoutSeconds={}",
                config.defaultModel(), config.maxMessageChars(), config.drainTimeoutSeconds());
    }

    /** Graceful drain: refuse new turns, let running ones finish for a while, then cancel what is left. */
    @Deactivate
    void deactivate() {
        int running = inFlight.size();
        LOG.info("core draining turns={} timeoutSeconds={}", running, config.drainTimeoutSeconds());
        List<GuardedStream> left;
        try {
            left = inFlight.drain(Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            left = inFlight.snapshot();
        }
        for (GuardedStream s : left) {
            s.abort(new ParleyException(ErrorCode.UNAVAILABLE, SHUTTING_DOWN), true);
        }
        storeWriter.shutdown();
        try {
            if (!storeWriter.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("core stopped before every answer was stored; crash recovery marks the rest interrupted");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        usage.close();
        LOG.info("core stopped drained={} cancelled={}", running - left.size(), left.size());
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unsetUsageStore")
    void setUsageStore(UsageStore store) {
        usageStore = store;
    }

    void unsetUsageStore(UsageStore store) {
        if (usageStore == store) {
            usageStore = null;
        }
    }

    /** The recorder, for tests that flush it. */
    UsageRecorder usageRecorder() {
        return usage;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setOpenTelemetry(OpenTelemetry otel) {
        ChatTelemetry previous = telemetry;
        telemetry = new ChatTelemetry(otel, inFlight::size);
        previous.close();
    }

    void unsetOpenTelemetry(OpenTelemetry otel) {
        // Turns already running keep the instruments they started with; their spans end where they are exported.
        ChatTelemetry previous = telemetry;
        telemetry = ChatTelemetry.NOOP;
        previous.close();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void setEventAdmin(EventAdmin admin) {
        eventAdmin.set(admin);
    }

    void unsetEventAdmin(EventAdmin admin) {
        eventAdmin.compareAndSet(admin, null);
    }

    // --- chat, always as a caller ---

    @Override
    public Chat as(Principal caller) {
        return new CallerChat(Objects.requireNonNull(caller, "caller"));
    }

    /**
     * Chat as one caller: the permission each operation needs is checked here again (the second line behind the
     * edge), its credential's model scopes too, and every conversation goes through the caller's view of the store:
     * its own conversations in its tenant (and those from before conversations had owners), or the whole tenant's
     * when it holds {@link Permission#CONVERSATIONS_ADMIN}. This is the one place a caller's view is opened, so every
     * front end (REST, WebSocket, the OpenAI and Anthropic APIs) sees the same conversations.
     */
    private final class CallerChat implements Chat {
        private final Principal caller;
        /** The caller's own conversations: what it creates is owned by it. */
        private final TenantConversations own;
        /** What it may see: {@link #own}, or the whole tenant's. */
        private final TenantConversations conversations;

        CallerChat(Principal caller) {
            this.caller = caller;
            TenantConversations tenant = store.tenant(caller.tenantId());
            this.own = tenant.owner(caller.subject());
            this.conversations = caller.can(Permission.CONVERSATIONS_ADMIN) ? tenant : own;
        }

        @Override
        public Conversation createConversation(NewConversation spec) {
            Principal.required(caller, Permission.CHAT);
            refuseWhenDraining();
            NewConversation s = spec == null ? new NewConversation(null, null, null) : spec;
            if (s.model() != null) {
                requireModel(caller, s.model());
            }
            return own.create(s);
        }

        @Override
        public Optional<Conversation> conversation(String id) {
            Principal.required(caller, Permission.CONVERSATIONS_READ);
            return id == null ? Optional.empty() : conversations.find(id);
        }

        @Override
        public Page<Conversation> conversations(int offset, int limit) {
            Principal.required(caller, Permission.CONVERSATIONS_READ);
            if (offset < 0 || limit < 1) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST,
                        "offset must be >= 0 and limit >= 1, got offset=" + offset + " limit=" + limit);
            }
            return conversations.list(offset, limit);
        }

        @Override
        public boolean deleteConversation(String id) {
            Principal.required(caller, Permission.CHAT);
            return id != null && conversations.delete(id);
        }

        @Override
        public List<StoredMessage> messages(String conversationId) {
            Principal.required(caller, Permission.CONVERSATIONS_READ);
            requireConversation(conversations, conversationId);
            return conversations.messages(conversationId);
        }

        @Override
        public List<ModelDescriptor> models() {
            Principal.required(caller, Permission.MODELS_READ);
            return TenantModelFilter.models(router, TenantModelFilter.view(modelAccess, caller), caller);
        }

        @Override
        public StreamHandle send(String conversationId, SendMessage message, TurnListener listener) {
            Principal.required(caller, Permission.CHAT);
            return CoreChatService.this.send(this, conversationId, message, listener, false);
        }

        @Override
        public StreamHandle sendWhole(String conversationId, SendMessage message, TurnListener listener) {
            Principal.required(caller, Permission.CHAT);
            return CoreChatService.this.send(this, conversationId, message, listener, true);
        }

        @Override
        public StreamHandle resume(String conversationId, String answerId, long after, TurnListener listener) {
            Principal.required(caller, Permission.CONVERSATIONS_READ);
            return CoreChatService.this.resume(this, conversationId, answerId, after, listener);
        }

        @Override
        public boolean resumable() {
            return streamLog != null;
        }

        @Override
        public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
            Principal.required(caller, Permission.CHAT);
            return CoreChatService.this.complete(caller, request, handler, false);
        }

        @Override
        public StreamHandle completeWhole(ChatRequest request, ChatStreamHandler handler) {
            Principal.required(caller, Permission.CHAT);
            return CoreChatService.this.complete(caller, request, handler, true);
        }

        @Override
        public int estimateInputTokens(ChatRequest request) {
            Principal.required(caller, Permission.CHAT);
            Objects.requireNonNull(request, "request");
            requireModel(caller, request.model() == null ? config.defaultModel() : request.model());
            return CoreChatService.this.estimateInputTokens(caller, request);
        }
    }

    /** Refuses a model the caller's credential is not scoped to (FORBIDDEN; no scope names a model: any). */
    private static void requireModel(Principal caller, String model) {
        if (model != null && !caller.mayUseModel(model)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "This credential may not use model '" + model + "'.");
        }
    }

    /** One turn; {@code whole}: the client wants the answer whole, so the provider is asked for it in one call. */
    private StreamHandle send(CallerChat chat, String conversationId, SendMessage message, TurnListener listener,
            boolean whole) {
        Objects.requireNonNull(listener, "listener");
        ChatTelemetry t = telemetry;
        Span span = t.startTurn("chat turn", conversationId);
        try (Scope scope = span.makeCurrent()) {
            return send(chat, conversationId, message, listener, whole, t, span);
        } catch (RuntimeException e) {
            ChatTelemetry.refused(span, e);
            throw e;
        }
    }

    private StreamHandle send(CallerChat chat, String conversationId, SendMessage message, TurnListener listener,
            boolean whole, ChatTelemetry t, Span span) {
        refuseWhenDraining();
        CoreConfig cfg = config;
        TenantConversations conversations = chat.conversations;
        Conversation conversation = requireConversation(conversations, conversationId);
        String content = message == null ? null : message.content();
        if (content == null || content.isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "message content must not be empty");
        }
        if (content.length() > cfg.maxMessageChars()) {
            throw new ParleyException(ErrorCode.TOO_LARGE, "message has " + content.length()
                    + " characters, limit " + cfg.maxMessageChars());
        }
        requireModel(chat.caller, message.model() != null ? message.model()
                : conversation.model() != null ? conversation.model() : cfg.defaultModel());
        ModelRouter.Plan plan = TenantModelFilter.plan(router, TenantModelFilter.view(modelAccess, chat.caller),
                chat.caller, message.model(), conversation.model(), cfg.defaultModel());
        // The first target sizes the context window; a fallback target gets the same prompt.
        ModelRouter.Candidate route = plan.first();
        String model = route.model().id();
        ChatOptions options = withDefaultMaxTokens(message.options(), cfg);
        ContextWindow.Fit fit = ContextWindow.fit(router.guard(), route, conversation.systemPrompt(),
                replayable(conversations, conversationId), ChatMessage.user(content), options.maxTokens());
        ChatRequest request = new ChatRequest(model, fit.messages(), options, List.of());
        // Over budget: refused like invalid input, before anything is stored or sent.
        Reservation reservation = reserve(chat.caller, route, fit.promptTokens(), options);

        // Validation is over: from here on what the user sent is kept, whatever happens next.
        // One transaction for both rows: the answer is there (streaming) before the first token can be.
        StreamClock clock = new StreamClock();
        Turn turn;
        StoredMessage user;
        StoredMessage answer;
        RoutedCall routed;
        try {
            List<StoredMessage> stored = conversations.appendAll(conversationId, List.of(
                    new NewMessage(Role.USER, content, MessageStatus.COMPLETE, null),
                    new NewMessage(Role.ASSISTANT, "", MessageStatus.STREAMING, model)));
            user = stored.get(0);
            answer = stored.get(1);
            routed = router.call(plan, request);
            StreamLog log = streamLog;
            // A streamed answer goes through the stream log first, so a client that reconnects gets the rest.
            TurnListener client = whole || log == null ? listener : new LoggedTurn(log, listener);
            turn = new Turn(store, storeWriter, client, conversationId, answer.id(), routed, fit.messages(), clock,
                    prices, this::streamEnded);
        } catch (RuntimeException e) {
            reservation.release();
            throw e;
        }
        turn.reservation(reservation, fit.promptTokens());
        turn.caller(chat.caller);
        span.setAttribute(ChatTelemetry.DROPPED_HISTORY, (long) fit.dropped());
        turn.observe(t.call(span, route.providerId(), request, whole, cfg.captureContent(), prices));
        LOG.debug("turn accepted conversation={} model={} provider={} promptTokens={} droppedHistory={} whole={}",
                conversationId, model, route.providerId(), fit.promptTokens(), fit.dropped(), whole);
        try {
            turn.listener().onAccepted(user, answer.id(), model);
        } catch (RuntimeException e) {
            LOG.debug("listener failed on accept conversation={}", conversationId, e);
            turn.abort(new ParleyException(ErrorCode.CANCELLED, GuardedStream.CLIENT_GONE), false);
            return turn;
        }
        if (!inFlight.tryEnter(turn)) {
            // Shutdown began while this turn was being stored: it is kept, but ends here.
            turn.abort(new ParleyException(ErrorCode.UNAVAILABLE, SHUTTING_DOWN), false);
            return turn;
        }
        turn.start(routed, whole);
        return turn;
    }

    /** A stateless completion; {@code whole}: routed to the provider's one-call {@code complete}. */
    private StreamHandle complete(Principal caller, ChatRequest request, ChatStreamHandler handler, boolean whole) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        ChatTelemetry t = telemetry;
        Span span = t.startTurn("chat completion", null);
        try (Scope scope = span.makeCurrent()) {
            return complete(caller, request, handler, whole, t, span);
        } catch (RuntimeException e) {
            ChatTelemetry.refused(span, e);
            throw e;
        }
    }

    private StreamHandle complete(Principal caller, ChatRequest request, ChatStreamHandler handler, boolean whole,
            ChatTelemetry t, Span span) {
        refuseWhenDraining();
        CoreConfig cfg = config;
        requireModel(caller, request.model() == null ? cfg.defaultModel() : request.model());
        ChatRequestRules rules = requestRules == null ? defaultRules : requestRules;
        rules.check(request);
        ModelRouter.Plan plan = TenantModelFilter.plan(router, TenantModelFilter.view(modelAccess, caller), caller,
                request.model(), cfg.defaultModel());
        ModelRouter.Candidate route = plan.first();
        rules.check(request, route.model());
        String model = route.model().id();
        ChatRequest routed = new ChatRequest(model, request.messages(), withDefaultMaxTokens(request.options(), cfg),
                request.tools());
        // Prompt tokens are counted only for a caller that has a budget: the others never pay for it.
        Budgets b = budgets;
        ChatRateLimits limits = rateLimits;
        int promptTokens = 0;
        Reservation reservation = Reservation.NONE;
        boolean budgeted = b != null && b.appliesTo(caller);
        if (budgeted || limits != null) {
            if (budgeted || limits.countsTokens(caller, model)) {
                promptTokens = estimateInputTokens(route, routed);
            }
            reservation = reserve(caller, route, promptTokens, routed.options());
        }
        // The bookkeeping at the end (log line, event, budget) runs off the provider's I/O thread, as a turn's does.
        Completion completion = new Completion(handler, model, new StreamClock(),
                (stream, outcome) -> storeWriter.execute(
                        () -> stream.call().withLogContext(() -> streamEnded(stream, outcome))));
        RoutedCall call;
        try {
            call = router.call(plan, routed);
        } catch (RuntimeException e) {
            reservation.release();
            throw e;
        }
        completion.reservation(reservation, promptTokens);
        completion.caller(caller);
        completion.routed(call);
        completion.observe(t.call(span, route.providerId(), routed, whole, config.captureContent(), prices));
        if (!inFlight.tryEnter(completion)) {
            reservation.release();
            ParleyException refused = unavailable();
            completion.call().failed(refused);
            throw refused;
        }
        completion.start(call, whole);
        return completion;
    }

    /**
     * Reserves in the caller's rate limits (tokens, model) and budgets, where there are such services. Rate limits
     * first (memory or one Redis call), then budgets (the database); a budget refusal gives back what the rate limits
     * took. Rate limits reserve the prompt plus the request's max tokens; budgets the prompt plus the most the answer
     * may take, and what that costs at the first target's prices.
     */
    private Reservation reserve(Principal caller, ModelRouter.Candidate route, int promptTokens, ChatOptions options) {
        ChatRateLimits limits = rateLimits;
        Reservation limited = limits == null ? Reservation.NONE : limits.reserve(caller, route.model().id(),
                (long) promptTokens + (options.maxTokens() == null ? 0 : options.maxTokens()));
        Budgets b = budgets;
        return ChatRateLimits.both(limited, () -> b == null ? Reservation.NONE
                : reserve(b, caller, route, promptTokens, options));
    }

    private Reservation reserve(Budgets b, Principal caller, ModelRouter.Candidate route, int promptTokens,
            ChatOptions options) {
        int answer = budgetedOutputTokens(options, route.model(), config);
        long estimate = (long) promptTokens + answer;
        String model = route.model().id();
        BigDecimal cost = prices.costUsd(route.providerId() + "/" + model, model, new Usage(promptTokens, answer));
        return b.reserve(caller, model, (int) Math.min(Integer.MAX_VALUE, estimate), cost);
    }

    /**
     * The answer tokens a budget reserves for: the request's maximum (core's default maximum included), else the
     * configured estimate, at most the model's own maximum.
     */
    static int budgetedOutputTokens(ChatOptions options, ModelDescriptor model, CoreConfig cfg) {
        if (options.maxTokens() != null) {
            return Math.max(0, options.maxTokens());
        }
        int estimate = Math.max(0, cfg.budgetOutputTokens());
        return model.maxOutputTokens() > 0 ? Math.min(estimate, model.maxOutputTokens()) : estimate;
    }

    private int estimateInputTokens(Principal caller, ChatRequest request) {
        // The estimate of the target that would be tried first; a fallback target may count a little differently.
        return estimateInputTokens(TenantModelFilter.plan(router, TenantModelFilter.view(modelAccess, caller), caller,
                request.model(), config.defaultModel()).first(), request);
    }

    private int estimateInputTokens(ModelRouter.Candidate first, ChatRequest request) {
        int tokens = ContextWindow.estimate(router.guard(), first, request.messages());
        int toolChars = 0;
        for (ToolSpec tool : request.tools()) {
            toolChars += tool.name().length() + (tool.description() == null ? 0 : tool.description().length())
                    + (tool.parametersJsonSchema() == null ? 0 : tool.parametersJsonSchema().length());
        }
        // Tool definitions are not messages, so providers do not count them; about four characters per token.
        return tokens + (toolChars + 3) / 4;
    }

    // --- CoreStatus ---

    @Override
    public boolean accepting() {
        return !inFlight.draining();
    }

    @Override
    public int providerCount() {
        return router.providerCount();
    }

    @Override
    public int modelCount() {
        return router.models().size();
    }

    @Override
    public int turnsInFlight() {
        return inFlight.size();
    }

    @Override
    public Map<String, String> quarantinedPlugins() {
        return router.guard().quarantined();
    }

    /**
     * Follows answer {@code answerId}'s stream log after event {@code after}; the answer must be in a conversation
     * the caller may read.
     */
    private StreamHandle resume(CallerChat chat, String conversationId, String answerId, long after,
            TurnListener listener) {
        Objects.requireNonNull(listener, "listener");
        if (after < 0) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "The last event seen must be 0 or more, got " + after);
        }
        StreamLog log = streamLog;
        if (log == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "Answers are not resumable here: no stream log is set up.");
        }
        TenantConversations conversations = chat.conversations;
        requireConversation(conversations, conversationId);
        List<StoredMessage> messages = conversations.messages(conversationId);
        int at = -1;
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).id().equals(answerId) && messages.get(i).role() == Role.ASSISTANT) {
                at = i;
            }
        }
        if (at < 0) {
            throw new ParleyException(ErrorCode.NOT_FOUND,
                    "No answer " + answerId + " in conversation " + conversationId + ".");
        }
        StoredMessage user = at > 0 ? messages.get(at - 1) : null;
        Supplier<StoredMessage> stored = () -> conversations.messages(conversationId).stream()
                .filter(m -> m.id().equals(answerId)).findFirst()
                .orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND, "Answer " + answerId + " was deleted."));
        AutoCloseable following = log.follow(answerId, after,
                new StreamResume(log, store, answerId, () -> user, stored, listener));
        return () -> {
            try {
                following.close();
            } catch (Exception e) {
                LOG.debug("closing a resumed stream failed answer={}", answerId, e);
            }
        };
    }

    // --- internals ---

    private void recoverInterruptedAnswers() {
        List<StoredMessage> streaming;
        try {
            streaming = store.streaming();
        } catch (RuntimeException e) {
            LOG.error("crash recovery could not list streaming answers", e);
            return;
        }
        int recovered = 0;
        for (StoredMessage m : streaming) {
            try {
                // Conditional: another node may have ended it already from the stream log, with the partial text.
                store.interruptIfStreaming(m.id(), m.content(), SERVER_RESTARTED);
                recovered++;
            } catch (RuntimeException e) {
                LOG.error("crash recovery failed message={}", m.id(), e);
            }
        }
        if (recovered > 0) {
            LOG.info("crash recovery marked answers interrupted count={}", recovered);
        }
    }

    private void streamEnded(GuardedStream stream, TurnOutcome outcome) {
        inFlight.exit(stream);
        stream.call().ended(outcome);
        Used used = Used.by(stream, outcome);
        settle(stream, outcome, used);
        if (outcome == null) {
            return;
        }
        try {
            usage.record(usageRecord(stream.caller(), stream instanceof Turn turn ? turn.answerId() : null, outcome,
                    used));
        } catch (RuntimeException e) {
            LOG.error("usage record not made conversation={}", outcome.conversationId(), e);
        }
        if (outcome.errorCode() == null) {
            LOG.info("turn completed conversation={} model={} promptTokens={} completionTokens={} latencyMs={} ttftMs={}",
                    outcome.conversationId(), outcome.model(), tokens(outcome, true), tokens(outcome, false),
                    millis(outcome.latency()), millis(outcome.timeToFirstToken()));
        }
        EventAdmin admin = eventAdmin.get();
        if (admin == null) {
            return;
        }
        Map<String, Object> props = new HashMap<>();
        putIfPresent(props, "conversationId", outcome.conversationId());
        putIfPresent(props, "model", outcome.model());
        if (outcome.usage() != null) {
            props.put("promptTokens", outcome.usage().promptTokens());
            props.put("completionTokens", outcome.usage().completionTokens());
        }
        putIfPresent(props, "latencyMs", millis(outcome.latency()));
        putIfPresent(props, "ttftMs", millis(outcome.timeToFirstToken()));
        if (outcome.errorCode() != null) {
            props.put("errorCode", outcome.errorCode().slug());
        }
        try {
            admin.postEvent(new Event(outcome.errorCode() == null ? TOPIC_TURN_COMPLETED : TOPIC_TURN_FAILED, props));
        } catch (RuntimeException e) {
            // EventAdmin leaving mid-call must not disturb the turn.
            LOG.debug("posting turn event failed", e);
        }
    }

    /**
     * What a stream used: the provider's usage or, for a stream that ended without it after an answer began to arrive,
     * what core counted of what arrived ({@code counted}). The budget settles and the usage record shows the same.
     */
    private record Used(Usage usage, boolean counted) {
        static Used by(GuardedStream stream, TurnOutcome outcome) {
            Usage reported = outcome == null ? null : outcome.usage();
            if ((reported != null && reported.totalTokens() > 0) || !stream.started()) {
                return new Used(reported, false);
            }
            Usage counted = stream.usedSoFar();
            return counted.totalTokens() > 0 ? new Used(counted, true) : new Used(reported, false);
        }
    }

    /**
     * Ends the stream's budget reservation: released when the stream never started, else settled with the usage the
     * provider reported or, for a stream cut or failed before it did, what core counted of what arrived.
     */
    private void settle(GuardedStream stream, TurnOutcome outcome, Used used) {
        Reservation r = stream.reservation();
        if (r == Reservation.NONE) {
            return;
        }
        if (!stream.started()) {
            r.release();
            return;
        }
        Usage u = used.usage() == null ? new Usage(0, 0) : used.usage();
        BigDecimal cost = null;
        if (u.totalTokens() > 0) {
            String answeredBy = outcome == null || outcome.route() == null ? null : outcome.route().answeredBy();
            String model = answeredBy == null ? (outcome == null ? null : outcome.model())
                    : splitTarget(answeredBy, outcome.model())[1];
            cost = prices.costUsd(answeredBy, model, u);
        }
        r.settle(u.totalTokens(), cost);
    }

    /**
     * The usage record of a finished turn ({@code messageId} set) or stateless completion, with the tokens its budget
     * settled: a stream cut before the provider reported usage shows what arrived and is marked cut.
     */
    private UsageRecord usageRecord(Principal caller, String messageId, TurnOutcome o, Used used) {
        RouteOutcome route = o.route();
        List<UsageAttempt> attempts = new ArrayList<>();
        String answeredBy = null;
        String requested = null;
        if (route != null) {
            requested = route.requested();
            answeredBy = route.answeredBy();
            for (RouteOutcome.Attempt a : route.attempts()) {
                String[] target = splitTarget(a.target(), o.model());
                attempts.add(new UsageAttempt(target[0], target[1], a.error() == null ? null : a.error().slug(),
                        a.duration() == null ? 0 : a.duration().toMillis()));
            }
        }
        if (answeredBy == null && !attempts.isEmpty()) {
            UsageAttempt last = attempts.get(attempts.size() - 1);
            answeredBy = last.providerId() + "/" + last.model();
        }
        String[] target = answeredBy == null ? new String[] {null, o.model()} : splitTarget(answeredBy, o.model());
        Usage u = used.usage();
        BigDecimal cost = u == null ? null : prices.costUsd(answeredBy, target[1], u);
        UsageOutcome outcome = o.errorCode() == null ? UsageOutcome.COMPLETED
                : o.errorCode() == ErrorCode.CANCELLED ? UsageOutcome.CANCELLED : UsageOutcome.FAILED;
        long latency = o.latency() == null ? 0 : o.latency().toMillis();
        Instant created = Instant.now().minusMillis(latency);
        return new UsageRecord(TimeOrderedIds.at(created.toEpochMilli()).toString(), created,
                caller == null ? null : caller.tenantId(), caller == null ? null : caller.subject(),
                o.conversationId() == null ? "completion" : "turn", o.conversationId(), messageId, requested, target[0],
                target[1], outcome, o.errorCode() == null ? null : o.errorCode().slug(), attempts,
                u == null ? 0 : u.promptTokens(), u == null ? 0 : u.completionTokens(),
                u == null ? 0 : u.cachedPromptTokens(), cost, latency, millis(o.timeToFirstToken()),
                used.counted() && o.errorCode() != null);
    }

    /** {@code provider/model} → both; a target without a provider keeps {@code fallbackModel}'s shape. */
    private static String[] splitTarget(String target, String fallbackModel) {
        if (target == null) {
            return new String[] {"unknown", fallbackModel == null ? "unknown" : fallbackModel};
        }
        int slash = target.indexOf('/');
        return slash <= 0 ? new String[] {"unknown", target}
                : new String[] {target.substring(0, slash), target.substring(slash + 1)};
    }

    /** History that may be replayed to a model: finished messages and interrupted answers that say something. */
    private static List<ChatMessage> replayable(TenantConversations conversations, String conversationId) {
        return conversations.messages(conversationId).stream()
                .filter(m -> m.role() == Role.USER || m.role() == Role.ASSISTANT)
                .filter(m -> m.status() == MessageStatus.COMPLETE
                        || (m.status() == MessageStatus.INTERRUPTED && m.role() == Role.ASSISTANT
                                && !m.content().isEmpty()))
                .map(m -> new ChatMessage(m.role(), m.content(), List.of(), null))
                .toList();
    }

    private static Conversation requireConversation(TenantConversations conversations, String id) {
        if (id == null || id.isBlank()) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "conversation id is missing");
        }
        return conversations.find(id).orElseThrow(
                () -> new ParleyException(ErrorCode.NOT_FOUND, "conversation " + id + " not found"));
    }

    private void refuseWhenDraining() {
        if (inFlight.draining()) {
            throw unavailable();
        }
    }

    private static ParleyException unavailable() {
        return new ParleyException(ErrorCode.UNAVAILABLE, SHUTTING_DOWN + "; retry on another instance");
    }

    private static ChatOptions withDefaultMaxTokens(ChatOptions options, CoreConfig cfg) {
        ChatOptions o = options == null ? ChatOptions.DEFAULTS : options;
        if (o.maxTokens() == null && cfg.defaultMaxOutputTokens() > 0) {
            return new ChatOptions(o.temperature(), o.topP(), cfg.defaultMaxOutputTokens(), o.stop(), o.toolChoice(),
                    o.responseFormat());
        }
        return o;
    }

    private static Long millis(Duration d) {
        return d == null ? null : d.toMillis();
    }

    private static Object tokens(TurnOutcome o, boolean prompt) {
        if (o.usage() == null) {
            return "-";
        }
        return prompt ? o.usage().promptTokens() : o.usage().completionTokens();
    }

    private static void putIfPresent(Map<String, Object> props, String key, Object value) {
        if (value != null) {
            props.put(key, value);
        }
    }
}

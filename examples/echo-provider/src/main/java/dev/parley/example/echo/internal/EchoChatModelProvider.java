package dev.parley.example.echo.internal;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;

/**
 * A chat model provider that answers with {@code "[echo <plugin version>] "} and the last user message, one word
 * at a time. It shows the whole provider contract (streaming, cancellation, exactly one terminal callback, usage,
 * a drain on deactivate) without a network, and lets tests see which version of the plugin served a chat. A real
 * plugin replaces {@link #answer} and {@link #tokens} with calls to its model and keeps the rest.
 *
 * <p>When the plugin is stopped or upgraded, answers already streaming finish on this instance (up to the drain
 * timeout); new ones are refused, and Parley sends them to the instance that replaces this one.
 *
 * <p>It does not override {@link ChatModelProvider#complete}: there is no upstream to ask for a whole answer in one
 * call, so the SPI's default, which streams, is all a client that did not ask for a stream needs (Parley takes the
 * whole text from {@code onComplete}). A provider whose model server can answer in one non-streamed call (OpenAI's
 * {@code "stream": false}) overrides {@code complete} with it.
 */
@Component(
        service = ChatModelProvider.class,
        configurationPid = EchoConfig.PID,
        property = "parley.provider.id=" + EchoChatModelProvider.PROVIDER_ID)
@Designate(ocd = EchoConfig.class)
public final class EchoChatModelProvider implements ChatModelProvider {

    static final String PROVIDER_ID = "echo";
    static final String MODEL_ID = "echo-1";
    static final int CONTEXT_WINDOW = 8192;
    static final int MAX_OUTPUT_TOKENS = 4096;

    private static final System.Logger LOG = System.getLogger(EchoChatModelProvider.class.getName());
    private static final Pattern WORD = Pattern.compile("\\s*\\S+|\\s+$");

    private final String version;
    private final ScheduledExecutorService scheduler;
    /** Streams that have not ended yet; guarded by itself, notified whenever one ends. */
    private final Set<EchoStream> active = new HashSet<>();
    private volatile EchoSettings settings;
    private volatile boolean stopping;

    @Activate
    public EchoChatModelProvider(BundleContext context, EchoConfig config) {
        this(context.getBundle().getVersion().toString(), EchoSettings.of(config));
    }

    EchoChatModelProvider(String version, EchoSettings settings) {
        this.version = Objects.requireNonNull(version, "version");
        this.settings = settings;
        this.scheduler = Executors.newScheduledThreadPool(2, threads("parley-echo-" + version));
        LOG.log(Level.INFO, "event=provider_activated provider=" + PROVIDER_ID + " version=" + version);
    }

    /** New settings apply to answers started from now on; answers in flight keep theirs. */
    @Modified
    void modified(EchoConfig config) {
        this.settings = EchoSettings.of(config);
    }

    /**
     * Lets answers in flight finish (bounded by the drain timeout), cuts off the rest with an error, and stops
     * the scheduler. Returns only when no thread of this instance runs any more.
     */
    @Deactivate
    void deactivate() throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        List<EchoStream> unfinished;
        synchronized (active) {
            long left;
            while (!active.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(active, left);
            }
            unfinished = new ArrayList<>(active);
        }
        for (EchoStream stream : unfinished) {
            stream.fail(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the echo provider stopped before the answer finished"));
        }
        scheduler.shutdownNow();
        scheduler.awaitTermination(5, TimeUnit.SECONDS);
        LOG.log(Level.INFO, "event=provider_deactivated provider=" + PROVIDER_ID + " version=" + version
                + " cutOff=" + unfinished.size());
    }

    @Override
    public String id() {
        return PROVIDER_ID;
    }

    @Override
    public List<ModelDescriptor> models() {
        return List.of(new ModelDescriptor(MODEL_ID, PROVIDER_ID, "Echo (example)", CONTEXT_WINDOW, MAX_OUTPUT_TOKENS));
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        EchoSettings now = settings;
        List<String> tokens = tokens(answer(now.prefix(), request.messages()));
        FinishReason finish = FinishReason.STOP;
        Integer maxTokens = request.options().maxTokens();
        if (maxTokens != null && maxTokens >= 0 && maxTokens < tokens.size()) {
            tokens = tokens.subList(0, maxTokens);
            finish = FinishReason.LENGTH;
        }
        EchoStream stream = new EchoStream(handler, tokens, finish, estimateTokens(request.model(), request.messages()),
                MODEL_ID, scheduler, now.tokenDelay().toMillis(), this::ended);
        if (!MODEL_ID.equals(request.model())) {
            stream.fail(new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "the echo provider serves only " + MODEL_ID + ", not " + request.model()));
            return stream;
        }
        synchronized (active) {
            if (stopping) {
                stream.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the echo provider is stopping"));
                return stream;
            }
            active.add(stream);
        }
        stream.start();
        return stream;
    }

    /** How many answers are streaming now. */
    int inFlight() {
        synchronized (active) {
            return active.size();
        }
    }

    private void ended(EchoStream stream) {
        synchronized (active) {
            if (active.remove(stream)) {
                active.notifyAll();
            }
        }
    }

    /**
     * What this provider answers. The one test that knows the text is
     * {@code EchoChatModelProviderTest.theAnswerIsThePrefixAndTheLastUserMessage}: change it with this method; every
     * other test checks the contract, whatever the answer is.
     */
    String answer(String prefix, List<ChatMessage> messages) {
        String lastUser = "";
        for (ChatMessage m : messages) {
            if (m.role() == Role.USER) {
                lastUser = m.content();
            }
        }
        String head = prefix.replace("{version}", version);
        return lastUser.isBlank() ? head : head + " " + lastUser;
    }

    /** Splits text into words, each with the whitespace before it, so the pieces join back to the text. */
    static List<String> tokens(String text) {
        List<String> tokens = new ArrayList<>();
        Matcher m = WORD.matcher(text);
        while (m.find()) {
            if (!m.group().isEmpty()) {
                tokens.add(m.group());
            }
        }
        return tokens;
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}

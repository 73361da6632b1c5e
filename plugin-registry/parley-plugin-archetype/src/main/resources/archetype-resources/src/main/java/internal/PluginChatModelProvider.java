package ${package}.internal;

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
 * The ${pluginName} chat model provider. As generated it answers with {@code "[${pluginId} <plugin version>] "} and
 * the last user message, one word at a time: replace {@link #answer} and {@link #tokens} with calls to your model,
 * and keep the rest, which implements the provider contract (streaming, cancellation, exactly one terminal
 * callback, usage, and a drain on deactivate).
 *
 * <p>When the plugin is stopped or upgraded, answers already streaming finish on this instance (up to the drain
 * timeout); new ones are refused, and Parley sends them to the instance that replaces this one.
 *
 * <p>It does not override {@link ChatModelProvider#complete}: the SPI's default streams, which is all a client that
 * did not ask for a stream needs (Parley takes the whole text from {@code onComplete}). If your model server can
 * answer in one non-streamed call, override {@code complete} with that call: same handle, same one terminal
 * callback, tokens optional.
 */
@Component(
        service = ChatModelProvider.class,
        configurationPid = PluginConfig.PID,
        property = "parley.provider.id=" + PluginChatModelProvider.PROVIDER_ID)
@Designate(ocd = PluginConfig.class)
public final class PluginChatModelProvider implements ChatModelProvider {

    static final String PROVIDER_ID = "${pluginId}";
    static final String MODEL_ID = "${pluginId}-1";
    static final int CONTEXT_WINDOW = 8192;
    static final int MAX_OUTPUT_TOKENS = 4096;

    private static final System.Logger LOG = System.getLogger(PluginChatModelProvider.class.getName());
    private static final Pattern WORD = Pattern.compile("\\s*\\S+|\\s+$");

    private final String version;
    private final ScheduledExecutorService scheduler;
    /** Streams that have not ended yet; guarded by itself, notified whenever one ends. */
    private final Set<PluginStream> active = new HashSet<>();
    private volatile PluginSettings settings;
    private volatile boolean stopping;

    @Activate
    public PluginChatModelProvider(BundleContext context, PluginConfig config) {
        this(context.getBundle().getVersion().toString(), PluginSettings.of(config));
    }

    PluginChatModelProvider(String version, PluginSettings settings) {
        this.version = Objects.requireNonNull(version, "version");
        this.settings = settings;
        this.scheduler = Executors.newScheduledThreadPool(2, threads("${pluginId}-" + version));
        LOG.log(Level.INFO, "event=provider_activated provider=" + PROVIDER_ID + " version=" + version);
    }

    /** New settings apply to answers started from now on; answers in flight keep theirs. */
    @Modified
    void modified(PluginConfig config) {
        this.settings = PluginSettings.of(config);
    }

    /**
     * Lets answers in flight finish (bounded by the drain timeout), cuts off the rest with an error, and stops
     * the scheduler. Returns only when no thread of this instance runs any more.
     */
    @Deactivate
    void deactivate() throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        List<PluginStream> unfinished;
        synchronized (active) {
            long left;
            while (!active.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.timedWait(active, left);
            }
            unfinished = new ArrayList<>(active);
        }
        for (PluginStream stream : unfinished) {
            stream.fail(new ParleyException(ErrorCode.UNAVAILABLE,
                    "the ${pluginId} provider stopped before the answer finished"));
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
        return List.of(new ModelDescriptor(MODEL_ID, PROVIDER_ID, "${pluginName}", CONTEXT_WINDOW, MAX_OUTPUT_TOKENS));
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(handler, "handler");
        PluginSettings now = settings;
        List<String> tokens = tokens(answer(now.prefix(), request.messages()));
        FinishReason finish = FinishReason.STOP;
        Integer maxTokens = request.options().maxTokens();
        if (maxTokens != null && maxTokens >= 0 && maxTokens < tokens.size()) {
            tokens = tokens.subList(0, maxTokens);
            finish = FinishReason.LENGTH;
        }
        PluginStream stream = new PluginStream(handler, tokens, finish, estimateTokens(request.model(), request.messages()),
                MODEL_ID, scheduler, now.tokenDelay().toMillis(), this::ended);
        if (!MODEL_ID.equals(request.model())) {
            stream.fail(new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                    "the ${pluginId} provider serves only " + MODEL_ID + ", not " + request.model()));
            return stream;
        }
        synchronized (active) {
            if (stopping) {
                stream.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the ${pluginId} provider is stopping"));
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

    private void ended(PluginStream stream) {
        synchronized (active) {
            if (active.remove(stream)) {
                active.notifyAll();
            }
        }
    }

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

package dev.parley.pluginhost.agent.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.pluginhost.agent.rpc.DaemonThreads;
import dev.parley.pluginhost.agent.rpc.Protocol;
import dev.parley.pluginhost.agent.rpc.RpcChannel;
import dev.parley.pluginhost.agent.rpc.WireCodec;
import dev.parley.sandbox.hooks.Confinement;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The server's end inside the plugin host (ADR 31): connects to the server with the secret from the configuration
 * file, tells it which providers the plugin registered (and their models, again whenever they change), runs each
 * {@code stream} the server sends on a thread of its own and sends the answer back piece by piece, cancels on
 * {@code cancel}, answers pings. When the connection ends, the server is gone or gave up on this host: the agent
 * stops the framework, and the process ends.
 *
 * <p>The agent starts the plugin (installed, unresolved, by {@code HostMain}) only once the sandbox's configurations
 * the server sent at the start ({@code dev.parley.sandbox.hooks} and its tiers) are in force in this framework's
 * hooks: each is written with a revision ({@link Confinement#REVISION_PROPERTY}), and the hooks list the revisions
 * they applied as a property of their {@link Confinement} service, whose modification the agent waits for. So the
 * plugin resolves under its tier's rules, never under the hooks' defaults. A change of them later is applied here as
 * in the server: the run-time checks' {@code enforce} from the plugin's next call, what it may wire to from its next
 * resolution, which is the host's next start. The agent tells the server how the plugin's start went and what the
 * sandbox refused it here ({@code plugin}).
 */
@Component(immediate = true)
public final class HostAgent {
    private static final System.Logger LOG = System.getLogger(HostAgent.class.getName());

    private final BundleContext context;
    private final ObjectMapper json = new ObjectMapper();
    private final WireCodec codec = new WireCodec(json);
    /** The plugin's providers, each with the service properties the server registers its proxy with. */
    private final Map<ChatModelProvider, Map<String, Object>> providers = new ConcurrentHashMap<>();
    private final Map<EmbeddingProvider, Map<String, Object>> embedders = new ConcurrentHashMap<>();
    /** The server's PID of each configuration it sent → the PID it has here. */
    private final Map<String, String> configurations = new ConcurrentHashMap<>();
    private final ConfigurationAdmin configAdmin;
    private final Confinement confinement;
    /** Revisions of the sandbox's configurations written here, one sequence per host. */
    private final AtomicLong revisions = new AtomicLong();
    /** This framework's PID of each sandbox configuration → the revision written last. */
    private final Map<String, String> sandboxRevisions = new ConcurrentHashMap<>();
    /** The plugin in this host: {@code waiting}, {@code active}, {@code failed} (with {@link #pluginError}). */
    private volatile String pluginState = "waiting";
    private volatile String pluginError;
    private volatile Bundle plugin;
    private final AtomicReference<String> lastReported = new AtomicReference<>("");
    private final ExecutorService starter;
    private final Map<Long, StreamHandle> handles = new ConcurrentHashMap<>();
    private final Map<Long, Boolean> cancelled = new ConcurrentHashMap<>();
    private final AtomicReference<String> lastAnnounced = new AtomicReference<>("");
    private final ExecutorService reader;
    private final ExecutorService calls;
    private final ScheduledExecutorService announcer;
    private final RpcChannel channel;
    private volatile boolean stopping;

    /** How long the hooks may take to apply the sandbox's configurations before the plugin is given up. */
    static final long SANDBOX_APPLY_TIMEOUT_MILLIS = 30_000;

    @Activate
    public HostAgent(BundleContext context, @Reference ConfigurationAdmin configAdmin,
            @Reference Confinement confinement) throws IOException {
        this.context = context;
        this.configAdmin = configAdmin;
        this.confinement = confinement;
        Path file = Path.of(context.getProperty(Protocol.CONFIG_PROPERTY));
        Properties settings = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            settings.load(in);
        }
        Files.deleteIfExists(file); // the secret is needed once
        int port = Integer.parseInt(settings.getProperty("port"));
        int maxFrame = Integer.parseInt(settings.getProperty("maxFrameBytes", "1048576"));
        int maxCalls = Integer.parseInt(settings.getProperty("maxConcurrentCalls", "32"));
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(10_000);
        channel = new RpcChannel(socket, json, Protocol.HELLO_MAX_BYTES);
        ObjectNode hello = channel.message(Protocol.HELLO);
        hello.put("v", Protocol.VERSION);
        hello.put("secret", settings.getProperty("secret"));
        hello.put("pid", ProcessHandle.current().pid());
        channel.send(hello);
        JsonNode answer = channel.receive();
        if (!Protocol.WELCOME.equals(answer.path("type").asText())) {
            channel.close();
            throw new IOException("the server refused this host: " + answer.path("reason").asText());
        }
        channel.maxFrameBytes(maxFrame); // the hello was small; what follows may be as large as agreed
        // The plugin's and the sandbox's configurations come before the plugin starts (this agent starts it, once the
        // sandbox's are in force), so it resolves under its tier's rules and its components activate with their
        // settings, not with defaults first.
        int configured = 0;
        while (true) {
            JsonNode m = channel.receive();
            String type = m.path("type").asText();
            if (Protocol.CONFIGURED.equals(type)) {
                break;
            }
            if (Protocol.CONFIG.equals(type)) {
                configure(m);
                configured++;
            } else if (Protocol.PING.equals(type)) {
                pong(m);
            }
        }
        socket.setSoTimeout(0);
        reader = Executors.newSingleThreadExecutor(DaemonThreads.named("parley-host-rpc"));
        calls = new java.util.concurrent.ThreadPoolExecutor(0, maxCalls, 30, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), DaemonThreads.named("parley-host-call"));
        announcer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("parley-host-announce"));
        announcer.scheduleWithFixedDelay(this::announce, 0, 1, TimeUnit.SECONDS);
        reader.execute(this::read);
        // Not on this thread: the hooks' components get their configurations from Configuration Admin's thread, and
        // the plugin's start must not run inside this component's activation.
        starter = Executors.newSingleThreadExecutor(DaemonThreads.named("parley-host-start"));
        starter.execute(this::startPlugin);
        LOG.log(System.Logger.Level.INFO, "event=plugin_host_connected port=" + port + " configurations=" + configured
                + " sandboxConfigurations=" + sandboxRevisions.size());
    }

    /** Starts the plugin once the sandbox's configurations are in force; a failure is reported, never retried. */
    private void startPlugin() {
        String location = context.getProperty(Protocol.PLUGIN_PROPERTY);
        Bundle b = location == null ? null : context.getBundle(location);
        if (b == null) {
            pluginFailed("no plugin was installed in this host");
            return;
        }
        plugin = b;
        try {
            if (!awaitSandbox(SANDBOX_APPLY_TIMEOUT_MILLIS)) {
                pluginFailed("the sandbox's configurations were not in force within " + SANDBOX_APPLY_TIMEOUT_MILLIS
                        + " ms (waiting for " + pending() + "); the plugin was not started");
                return;
            }
            b.start();
            pluginState = "active";
            LOG.log(System.Logger.Level.INFO, "event=plugin_host_plugin_started bundle=" + b.getSymbolicName()
                    + " sandboxConfigurations=" + sandboxRevisions.size());
        } catch (BundleException | RuntimeException e) {
            pluginFailed(e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopping
            return;
        }
        announceSoon();
    }

    private void pluginFailed(String why) {
        pluginError = why;
        pluginState = "failed";
        LOG.log(System.Logger.Level.WARNING, "event=plugin_host_plugin_not_started reason=\"" + why + "\"");
        announceSoon();
    }

    /**
     * Waits until the hooks list every sandbox configuration written here at its latest revision, on the events of
     * their {@link Confinement} service (modified each time one is applied). @return false after {@code timeoutMillis}
     */
    private boolean awaitSandbox(long timeoutMillis) throws InterruptedException {
        CountDownLatch applied = new CountDownLatch(1);
        ServiceListener listener = event -> {
            if (applied(event.getServiceReference())) {
                applied.countDown();
            }
        };
        try {
            context.addServiceListener(listener, "(" + Constants.OBJECTCLASS + "=" + Confinement.class.getName() + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        try {
            ServiceReference<Confinement> ref = context.getServiceReference(Confinement.class);
            return (ref != null && applied(ref)) || applied.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } finally {
            context.removeServiceListener(listener);
        }
    }

    private boolean applied(ServiceReference<?> ref) {
        return pending(ref).isEmpty();
    }

    private Set<String> pending(ServiceReference<?> ref) {
        Object value = ref == null ? null : ref.getProperty(Confinement.APPLIED_PROPERTY);
        Set<String> have = value instanceof String[] a ? new HashSet<>(Arrays.asList(a)) : Set.of();
        Set<String> pending = new java.util.TreeSet<>();
        sandboxRevisions.forEach((pid, revision) -> {
            if (!have.contains(pid + "=" + revision)) {
                pending.add(pid + "=" + revision);
            }
        });
        return pending;
    }

    private Set<String> pending() {
        return pending(context.getServiceReference(Confinement.class));
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            updated = "updatedProvider")
    void addProvider(ChatModelProvider provider, Map<String, Object> properties) {
        providers.put(provider, carried(properties));
        announceSoon();
    }

    void updatedProvider(ChatModelProvider provider, Map<String, Object> properties) {
        providers.replace(provider, carried(properties));
        announceSoon();
    }

    void removeProvider(ChatModelProvider provider) {
        providers.remove(provider);
        announceSoon();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            updated = "updatedEmbedder")
    void addEmbedder(EmbeddingProvider provider, Map<String, Object> properties) {
        embedders.put(provider, carried(properties));
        announceSoon();
    }

    void updatedEmbedder(EmbeddingProvider provider, Map<String, Object> properties) {
        embedders.replace(provider, carried(properties));
        announceSoon();
    }

    void removeEmbedder(EmbeddingProvider provider) {
        embedders.remove(provider);
        announceSoon();
    }

    /** The service properties the server's proxy of a provider carries: whose tenant's instance it is (ADR 26). */
    static Map<String, Object> carried(Map<String, Object> properties) {
        Map<String, Object> out = new java.util.TreeMap<>();
        for (String key : CARRIED) {
            Object v = properties.get(key);
            if (v instanceof String text && !text.isBlank()) {
                out.put(key, text);
            }
        }
        return out;
    }

    /** {@code ChatModelProvider.TENANT_PROPERTY} and the instance's name. */
    static final java.util.List<String> CARRIED = java.util.List.of(ChatModelProvider.TENANT_PROPERTY,
            "parley.tenant.instance");

    @Deactivate
    void deactivate() {
        stopping = true;
        starter.shutdownNow();
        for (StreamHandle h : handles.values()) {
            try {
                h.cancel();
            } catch (RuntimeException ignored) {
                // the plugin's problem; the process is ending
            }
        }
        announcer.shutdownNow();
        calls.shutdownNow();
        reader.shutdownNow();
        channel.close();
    }

    private void announceSoon() {
        ScheduledExecutorService a = announcer;
        if (a != null) {
            try {
                a.execute(this::announce);
            } catch (RejectedExecutionException ignored) {
                // stopping
            }
        }
    }

    /** Sends the providers and their models when they differ from what the server has. */
    private void announce() {
        ObjectNode m = channel.message(Protocol.PROVIDERS);
        ArrayNode list = m.putArray("providers");
        for (var entry : providers.entrySet()) {
            ChatModelProvider p = entry.getKey();
            try {
                ObjectNode pn = list.addObject();
                pn.put("id", p.id());
                pn.set("models", codec.models(p.models()));
                ObjectNode props = pn.putObject("properties");
                entry.getValue().forEach((k, v) -> props.put(k, String.valueOf(v)));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "event=plugin_host_models_failed error=" + e);
            }
        }
        ArrayNode embedding = m.putArray("embedders");
        for (var entry : embedders.entrySet()) {
            EmbeddingProvider p = entry.getKey();
            try {
                ObjectNode pn = embedding.addObject();
                pn.put("id", p.id());
                pn.set("models", codec.embeddingModels(p.embeddingModels()));
                ObjectNode props = pn.putObject("properties");
                entry.getValue().forEach((k, v) -> props.put(k, String.valueOf(v)));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "event=plugin_host_models_failed error=" + e);
            }
        }
        String text = m.toString();
        if (!text.equals(lastAnnounced.get())) {
            try {
                channel.send(m);
                lastAnnounced.set(text);
            } catch (IOException e) {
                gone(e);
                return;
            }
        }
        report();
    }

    /** Sends how the plugin's start went and what the sandbox refused it here, when that differs from the last. */
    private void report() {
        ObjectNode m = channel.message(Protocol.PLUGIN);
        Bundle b = plugin;
        String state = pluginState;
        if ("active".equals(state) && b != null && b.getState() != Bundle.ACTIVE) {
            state = "stopped";
        }
        m.put("state", state);
        String error = pluginError;
        if (error != null) {
            m.put("error", cut(error));
        }
        ArrayNode refusals = m.putArray("refusals");
        ObjectNode calls = m.putObject("refusedCalls");
        if (b != null) {
            for (String r : confinement.refusals(b)) {
                if (refusals.size() >= Protocol.MAX_REFUSALS) {
                    break;
                }
                refusals.add(cut(r));
            }
            confinement.refusedCalls(b).entrySet().stream().limit(Protocol.MAX_REFUSALS)
                    .forEach(e -> calls.put(e.getKey(), e.getValue()));
        }
        String text = m.toString();
        if (text.equals(lastReported.get())) {
            return;
        }
        try {
            channel.send(m);
            lastReported.set(text);
        } catch (IOException e) {
            gone(e);
        }
    }

    private static String cut(String s) {
        return s.length() <= Protocol.MAX_REFUSAL_CHARS ? s : s.substring(0, Protocol.MAX_REFUSAL_CHARS - 1) + "…";
    }

    private void read() {
        try {
            while (!stopping) {
                JsonNode m = channel.receive();
                switch (m.path("type").asText()) {
                    case Protocol.PING -> pong(m);
                    case Protocol.STREAM -> start(m);
                    case Protocol.CANCEL -> cancel(m.path("rid").asLong());
                    case Protocol.EMBED -> embed(m);
                    case Protocol.ESTIMATE -> estimate(m);
                    case Protocol.CONFIG -> configure(m);
                    case Protocol.CONFIG_DELETED -> unconfigure(m.path("pid").asText());
                    default -> {
                        // a newer server's message this host does not know: ignored (Protocol)
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            gone(e);
        }
    }

    private void pong(JsonNode ping) throws IOException {
        ObjectNode pong = channel.message(Protocol.PONG);
        pong.put("seq", ping.path("seq").asLong());
        channel.send(pong);
    }

    /**
     * Makes or updates the configuration the server sent in this framework's Configuration Admin (which keeps it in
     * memory only), where Declarative Services hands it to the plugin's components as in the server. A factory
     * configuration keeps its name ({@code factoryPid~name}). A bad one is logged and skipped: the plugin runs without
     * it, as it would in the server with a configuration it cannot read.
     */
    private void configure(JsonNode m) {
        String pid = m.path("pid").asText("");
        String factoryPid = m.path("factoryPid").asText("");
        try {
            if (pid.isBlank()) {
                throw new IllegalArgumentException("no pid");
            }
            if (!configurations.containsKey(pid) && configurations.size() >= Protocol.MAX_CONFIGURATIONS) {
                throw new IllegalArgumentException("more than " + Protocol.MAX_CONFIGURATIONS + " configurations");
            }
            java.util.Dictionary<String, Object> props = new java.util.Hashtable<>(codec.properties(
                    m.path("properties")));
            boolean sandbox = Protocol.SANDBOX_PID.equals(pid) || Protocol.SANDBOX_TIER_PID.equals(factoryPid);
            String revision = Long.toString(revisions.incrementAndGet());
            if (sandbox) {
                props.put(Confinement.REVISION_PROPERTY, revision);
            }
            Configuration c;
            if (factoryPid.isBlank()) {
                c = configAdmin.getConfiguration(pid, "?");
            } else {
                String name = pid.startsWith(factoryPid + "~") ? pid.substring(factoryPid.length() + 1)
                        : pid.replaceAll("[^A-Za-z0-9._-]", "_");
                c = configAdmin.getFactoryConfiguration(factoryPid, name, "?");
            }
            if (sandbox) {
                sandboxRevisions.put(c.getPid(), revision); // before the update: its applied event comes after
            }
            try {
                c.updateIfDifferent(props);
            } catch (IOException | RuntimeException e) {
                sandboxRevisions.remove(c.getPid(), revision);
                throw e;
            }
            configurations.put(pid, c.getPid());
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "event=plugin_host_configuration_refused pid=" + pid + " error=\""
                    + e.getMessage() + "\"");
        }
    }

    private void unconfigure(String pid) {
        String here = configurations.remove(pid);
        if (here == null) {
            return;
        }
        sandboxRevisions.remove(here);
        try {
            Configuration[] found = configAdmin.listConfigurations("(service.pid="
                    + here.replace("\\", "\\5c").replace("*", "\\2a").replace("(", "\\28").replace(")", "\\29") + ")");
            if (found != null) {
                for (Configuration c : found) {
                    c.delete();
                }
            }
        } catch (IOException | org.osgi.framework.InvalidSyntaxException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "event=plugin_host_configuration_not_deleted pid=" + pid
                    + " error=\"" + e.getMessage() + "\"");
        }
    }

    /** {@code estimateTokens} of a provider, on a call thread (a plugin's estimate may be slow). */
    private void estimate(JsonNode m) {
        long rid = m.path("rid").asLong();
        String providerId = m.path("provider").asText();
        String model = m.path("model").asText();
        java.util.List<dev.parley.api.chat.ChatMessage> messages;
        try {
            messages = codec.messages(m.path("messages"));
        } catch (RuntimeException e) {
            fail(rid, new ParleyException(ErrorCode.INVALID_REQUEST, "the plugin host could not read the messages: "
                    + e.getMessage()));
            return;
        }
        try {
            calls.execute(() -> {
                ChatModelProvider provider = null;
                for (ChatModelProvider p : providers.keySet()) {
                    if (providerId.equals(p.id())) {
                        provider = p;
                    }
                }
                if (provider == null) {
                    fail(rid, new ParleyException(ErrorCode.NO_PROVIDER, "the plugin host has no provider "
                            + providerId));
                    return;
                }
                try {
                    int tokens = provider.estimateTokens(model, messages);
                    ObjectNode done = channel.message(Protocol.ESTIMATED);
                    done.put("rid", rid);
                    done.put("tokens", tokens);
                    send(done);
                } catch (RuntimeException e) {
                    fail(rid, e instanceof ParleyException pe ? pe : new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                            "the plugin failed to estimate tokens: " + e));
                }
            });
        } catch (RejectedExecutionException e) {
            fail(rid, new ParleyException(ErrorCode.OVERLOADED, "the plugin host runs as many calls as it may"));
        } catch (OutOfMemoryError e) {
            fail(rid, new ParleyException(ErrorCode.OVERLOADED, "the plugin host cannot start a thread for the call ("
                    + e.getMessage() + ")"));
        }
    }

    private void gone(Exception e) {
        if (stopping) {
            return;
        }
        stopping = true;
        LOG.log(System.Logger.Level.INFO, "event=plugin_host_disconnected reason=\"" + e + "\"");
        try {
            context.getBundle(0).stop(); // Felix stops the framework on a thread of its own; HostMain then exits
        } catch (BundleException | IllegalStateException ex) {
            Runtime.getRuntime().halt(3);
        }
    }

    private void start(JsonNode m) {
        long rid = m.path("rid").asLong();
        String providerId = m.path("provider").asText();
        ChatRequest request;
        try {
            request = codec.request(m.path("request"));
        } catch (RuntimeException e) {
            fail(rid, new ParleyException(ErrorCode.INVALID_REQUEST, "the plugin host could not read the request: "
                    + e.getMessage()));
            return;
        }
        boolean whole = m.path("whole").asBoolean(false);
        try {
            calls.execute(() -> call(rid, providerId, request, whole));
        } catch (RejectedExecutionException e) {
            fail(rid, new ParleyException(ErrorCode.OVERLOADED, "the plugin host runs as many calls as it may"));
        } catch (OutOfMemoryError e) {
            // No thread for the call: the host's task cap (its cgroup's pids.max) is reached. The reader goes on.
            fail(rid, new ParleyException(ErrorCode.OVERLOADED, "the plugin host cannot start a thread for the call ("
                    + e.getMessage() + ")"));
        }
    }

    private void call(long rid, String providerId, ChatRequest request, boolean whole) {
        ChatModelProvider provider = null;
        for (ChatModelProvider p : providers.keySet()) {
            if (providerId.equals(p.id())) {
                provider = p;
            }
        }
        if (provider == null) {
            fail(rid, new ParleyException(ErrorCode.NO_PROVIDER, "the plugin host has no provider " + providerId));
            return;
        }
        Handler handler = new Handler(rid);
        try {
            StreamHandle handle = whole ? provider.complete(request, handler) : provider.stream(request, handler);
            if (handle != null && !handler.ended) {
                handles.put(rid, handle);
                if (handler.ended) {
                    handles.remove(rid);
                } else if (cancelled.remove(rid) != null) {
                    handle.cancel();
                }
            }
        } catch (ParleyException e) {
            handler.onError(e);
        } catch (RuntimeException | Error e) {
            handler.onError(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the plugin failed to start the answer: "
                    + e));
            if (e instanceof VirtualMachineError vme) {
                throw vme;
            }
        }
    }

    private void embed(JsonNode m) {
        long rid = m.path("rid").asLong();
        String providerId = m.path("provider").asText();
        EmbeddingRequest request;
        try {
            request = codec.embeddingRequest(m.path("request"));
        } catch (RuntimeException e) {
            fail(rid, new ParleyException(ErrorCode.INVALID_REQUEST, "the plugin host could not read the request: "
                    + e.getMessage()));
            return;
        }
        try {
            calls.execute(() -> {
                EmbeddingProvider provider = null;
                for (EmbeddingProvider p : embedders.keySet()) {
                    if (providerId.equals(p.id())) {
                        provider = p;
                    }
                }
                if (provider == null) {
                    fail(rid, new ParleyException(ErrorCode.NO_PROVIDER, "the plugin host has no embedding provider "
                            + providerId));
                    return;
                }
                try {
                    provider.embed(request).whenComplete((response, error) -> {
                        if (error != null) {
                            Throwable cause = error instanceof java.util.concurrent.CompletionException
                                    && error.getCause() != null ? error.getCause() : error;
                            fail(rid, cause instanceof ParleyException pe ? pe : new ParleyException(
                                    ErrorCode.UPSTREAM_FAILURE, "the plugin failed to embed: " + cause));
                            return;
                        }
                        ObjectNode done = channel.message(Protocol.EMBEDDED);
                        done.put("rid", rid);
                        done.set("response", codec.embeddingResponse(response));
                        send(done);
                    });
                } catch (RuntimeException e) {
                    fail(rid, e instanceof ParleyException pe ? pe : new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                            "the plugin failed to embed: " + e));
                }
            });
        } catch (RejectedExecutionException e) {
            fail(rid, new ParleyException(ErrorCode.OVERLOADED, "the plugin host runs as many calls as it may"));
        } catch (OutOfMemoryError e) {
            // No thread for the call: the host's task cap (its cgroup's pids.max) is reached. The reader goes on.
            fail(rid, new ParleyException(ErrorCode.OVERLOADED, "the plugin host cannot start a thread for the call ("
                    + e.getMessage() + ")"));
        }
    }

    private void cancel(long rid) {
        StreamHandle h = handles.get(rid);
        if (h == null) {
            cancelled.put(rid, Boolean.TRUE); // the call has not returned its handle yet
            return;
        }
        try {
            h.cancel();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "event=plugin_host_cancel_failed error=" + e);
        }
    }

    private void fail(long rid, ParleyException e) {
        ObjectNode m = channel.message(Protocol.ERROR);
        m.put("rid", rid);
        codec.error(m, e);
        send(m);
    }

    private void send(ObjectNode m) {
        try {
            channel.send(m);
        } catch (RpcChannel.FrameTooLargeException e) {
            // Nothing was written: the connection is fine, this one message cannot cross. Its request ends with an error.
            if (m.has("rid") && !Protocol.ERROR.equals(m.path("type").asText())) {
                fail(m.path("rid").asLong(), new ParleyException(ErrorCode.TOO_LARGE, "the plugin's answer is larger "
                        + "than a plugin-host message may be (" + e.getMessage() + ")"));
            } else {
                LOG.log(System.Logger.Level.WARNING, "event=plugin_host_message_too_large error=" + e.getMessage());
            }
        } catch (IOException e) {
            gone(e);
        }
    }

    /** Sends one answer's callbacks to the server, tagged with its request id. */
    private final class Handler implements ChatStreamHandler {
        private final long rid;
        private volatile boolean ended;

        Handler(long rid) {
            this.rid = rid;
        }

        @Override
        public void onToken(String delta) {
            ObjectNode m = channel.message(Protocol.TOKEN);
            m.put("rid", rid);
            m.put("delta", delta);
            send(m);
        }

        @Override
        public void onToolCallDelta(ToolCallDelta delta) {
            ObjectNode m = channel.message(Protocol.TOOL_CALL_DELTA);
            m.put("rid", rid);
            codec.toolCallDelta(m, delta);
            send(m);
        }

        @Override
        public void onAnsweringModel(String providerId, String model) {
            ObjectNode m = channel.message(Protocol.ANSWERING);
            m.put("rid", rid);
            m.put("provider", providerId);
            m.put("model", model);
            send(m);
        }

        @Override
        public void onComplete(ChatResponse response) {
            if (end()) {
                ObjectNode m = channel.message(Protocol.COMPLETE);
                m.put("rid", rid);
                m.set("response", codec.response(response));
                send(m);
            }
        }

        @Override
        public void onError(ParleyException error) {
            if (end()) {
                fail(rid, error);
            }
        }

        private synchronized boolean end() {
            if (ended) {
                return false;
            }
            ended = true;
            handles.remove(rid);
            cancelled.remove(rid);
            return true;
        }
    }
}

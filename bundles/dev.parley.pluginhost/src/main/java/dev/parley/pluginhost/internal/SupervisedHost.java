package dev.parley.pluginhost.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.agent.rpc.Protocol;
import dev.parley.pluginhost.agent.rpc.RpcChannel;
import dev.parley.pluginhost.agent.rpc.WireCodec;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One plugin run out of process: its host JVM, the loopback endpoint the host connects back to, the heartbeat, the
 * restarts with backoff, and the proxies its stand-in registers (ADR 31).
 */
final class SupervisedHost {
    private static final Logger LOG = LoggerFactory.getLogger(SupervisedHost.class);
    private static final int PENDING_HANDSHAKES = 4;
    private static final int HANDSHAKE_TIMEOUT_MILLIS = 5000;
    /** How long a host whose connection ended may take to end by itself. */
    private static final long LOST_GRACE_MILLIS = 2000;
    private static final String SHELL = "/bin/sh";
    /** Exit code of the wrapper when the process could not be put into its cgroup. */
    static final int CGROUP_ENTRY_FAILED = 70;
    /** {@code sh -c} script: writes the shell's pid to each file up to {@code --}, then runs the rest in its place. */
    static final String ENTER_CGROUP = "while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit "
            + CGROUP_ENTRY_FAILED + "; shift; done; shift; exec \"$@\"";
    private static final int CGROUP_REMOVE_TRIES = 50;
    /** How long an {@code estimateTokens} may take in the host (the caller waits, so it is short). */
    static final long ESTIMATE_TIMEOUT_MILLIS = 5000;
    /** The service property of a tenant's provider instance with the instance's name (ADR 26). */
    static final String TENANT_INSTANCE_PROPERTY = "parley.tenant.instance";

    private final Bundle standIn;
    private final String pluginId;
    private final HostLimits limits;
    private final Path dir;
    private final Path pluginJar;
    private final HostRuntime runtime;
    /** Framework properties of the host (its sandbox hooks' input), written as {@code fw.<name>}. */
    private final Map<String, String> hostProperties;
    private final Supplier<HostSettings> settings;
    private final ScheduledExecutorService timers;
    private final ExecutorService io;
    /** A cgroup for a process of this host (ADR 31): its name prefix and limits in, the placement out. */
    private final java.util.function.BiFunction<String, HostLimits, HostCgroups.Placement> cgroups;
    private final ObjectMapper json = new ObjectMapper();
    private final WireCodec codec = new WireCodec(json);
    private final SecureRandom random = new SecureRandom();
    private final ServerSocket endpoint;
    private final Semaphore handshakes = new Semaphore(PENDING_HANDSHAKES);
    private final Map<String, RemoteChatProvider> proxies = new ConcurrentHashMap<>();
    private final Map<String, ServiceRegistration<ChatModelProvider>> registrations = new ConcurrentHashMap<>();
    private final Map<Long, RemoteStream> streams = new ConcurrentHashMap<>();
    private final Map<String, RemoteEmbeddingProvider> embedders = new ConcurrentHashMap<>();
    private final Map<String, ServiceRegistration<EmbeddingProvider>> embedderRegistrations = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<EmbeddingResponse>> embeddings = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<Integer>> estimates = new ConcurrentHashMap<>();
    private final AtomicLong rids = new AtomicLong();
    /** The configuration PIDs the plugin's components read ({@link PluginPids}). */
    private final Set<String> pids;
    private final Supplier<ConfigurationAdmin> configAdmin;
    /** Reading a configuration and sending it happen under this lock, so the host never gets an older one last. */
    private final Object configLock = new Object();

    // guarded by this
    private Process process;
    private String secret;
    private RpcChannel channel;
    private String state = "starting";
    private int starts;
    private int failuresInRow;
    private long startedAt;
    private long lastPong;
    private String killReason;
    private String lastExit;
    private boolean stopped;
    private ScheduledFuture<?> heartbeat;
    private HostCgroups.Placement placement;
    /** The plugin in the current host as it last reported (null before it did). */
    private String pluginState;
    private String pluginError;
    private List<String> refusals = List.of();
    private Map<String, Long> refusedCalls = Map.of();

    SupervisedHost(Bundle standIn, String pluginId, HostLimits limits, Path dir, Path pluginJar, HostRuntime runtime,
            Map<String, String> hostProperties, Supplier<HostSettings> settings, ScheduledExecutorService timers,
            ExecutorService io, java.util.function.BiFunction<String, HostLimits, HostCgroups.Placement> cgroups,
            Set<String> pids, Supplier<ConfigurationAdmin> configAdmin) throws IOException {
        this.cgroups = cgroups;
        this.pids = Set.copyOf(pids);
        this.configAdmin = configAdmin;
        this.hostProperties = hostProperties;
        this.standIn = standIn;
        this.pluginId = pluginId;
        this.limits = limits;
        this.dir = dir;
        this.pluginJar = pluginJar;
        this.runtime = runtime;
        this.settings = settings;
        this.timers = timers;
        this.io = io;
        this.endpoint = new ServerSocket();
        endpoint.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), PENDING_HANDSHAKES);
    }

    String pluginId() {
        return pluginId;
    }

    void start() {
        io.execute(this::accept);
        long beat = settings.get().heartbeatMillis();
        synchronized (this) {
            heartbeat = timers.scheduleWithFixedDelay(this::tick, beat, beat, TimeUnit.MILLISECONDS);
        }
        launch();
    }

    synchronized HostStatus status() {
        return new HostStatus(standIn.getBundleId(), pluginId, state, process == null ? -1 : process.pid(),
                endpoint.getLocalPort(), starts, lastExit, providerIds(), placement == null ? null
                : placement.summary(), placement == null ? null : placement.path(), pluginState, pluginError, refusals,
                refusedCalls);
    }

    private List<String> providerIds() {
        Set<String> ids = new java.util.TreeSet<>(proxies.keySet());
        ids.addAll(embedders.keySet());
        return List.copyOf(ids);
    }

    // --- the process ---

    private synchronized void launch() {
        if (stopped) {
            return;
        }
        HostSettings s = settings.get();
        try {
            secret = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes());
            Path config = writeConfig(s);
            List<String> java = new ArrayList<>();
            java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            java.add("-Xmx" + limits.heapMb() + "m");
            java.add("-Xss512k");
            java.add("-XX:MaxMetaspaceSize=128m");
            java.add("-XX:MaxDirectMemorySize=64m");
            java.add("-XX:ActiveProcessorCount=" + Math.max(1, (limits.cpuMillicores() + 999) / 1000));
            java.add("-XX:+ExitOnOutOfMemoryError");
            java.add("-XX:+UseSerialGC");
            java.add("-XX:TieredStopAtLevel=1");
            java.add("-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp")));
            java.addAll(s.javaOptions());
            java.add("-cp");
            java.add(runtime.framework() + File.pathSeparator + runtime.agent());
            java.add(Protocol.HOST_MAIN);
            HostCgroups.Placement cg = cgroups.apply(pluginId, limits);
            List<String> command = new ArrayList<>();
            if (cg.applied()) {
                // The shell writes its own pid into the cgroup, then becomes the JVM (exec keeps the pid): every
                // thread of the host is born inside its cgroup, before the framework or the plugin runs.
                command.add(SHELL);
                command.add("-c");
                command.add(ENTER_CGROUP);
                command.add("parley-plugin-host");
                cg.procs().forEach(f -> command.add(f.toString()));
                command.add("--");
            }
            command.addAll(java);
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("host.log").toFile()));
            // The plugin sees none of the server's environment (secrets are often there): only where its config is.
            pb.environment().clear();
            pb.environment().put(Protocol.CONFIG_ENV, config.toString());
            Process p;
            try {
                p = pb.start();
            } catch (IOException | RuntimeException e) {
                removeCgroup(cg);
                throw e;
            }
            placement = cg;
            process = p;
            starts++;
            startedAt = System.nanoTime();
            lastPong = startedAt;
            killReason = null;
            state = "starting";
            pluginState = null; // a new process reports its own plugin
            pluginError = null;
            refusals = List.of();
            refusedCalls = Map.of();
            p.onExit().thenRun(() -> exited(p));
            LOG.info("event=plugin_host_started plugin={} pid={} port={} start={} heapMb={} cpuMillicores={} "
                    + "maxThreads={} maxHostThreads={} {}", pluginId, p.pid(), endpoint.getLocalPort(), starts,
                    limits.heapMb(), limits.cpuMillicores(), limits.maxThreads(), limits.maxHostThreads(),
                    cg.summary());
        } catch (IOException | RuntimeException e) {
            lastExit = "could not start: " + e.getMessage();
            LOG.error("event=plugin_host_start_failed plugin={} error=\"{}\"", pluginId, e.toString());
            scheduleRestart();
        }
    }

    /** The host's settings file, readable by this user only; the agent deletes it once read. */
    private Path writeConfig(HostSettings s) throws IOException {
        Path file = dir.resolve("host.properties");
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Properties p = new Properties();
        p.setProperty("port", Integer.toString(endpoint.getLocalPort()));
        p.setProperty("secret", secret);
        p.setProperty("storage", dir.resolve("framework").toString());
        p.setProperty("maxFrameBytes", Integer.toString(s.maxFrameBytes()));
        p.setProperty("maxConcurrentCalls", Integer.toString(limits.maxThreads()));
        List<String> bundles = new ArrayList<>();
        runtime.bundles().forEach(b -> bundles.add(b.toString()));
        p.setProperty("bundles", String.join(File.pathSeparator, bundles));
        p.setProperty("plugin", pluginJar.toString()); // started by the agent, under the sandbox's configuration
        hostProperties.forEach((k, v) -> p.setProperty(Protocol.FRAMEWORK_PROPERTY_PREFIX + k, v));
        try (OutputStream out = Files.newOutputStream(file)) {
            p.store(out, "Parley plugin host " + pluginId);
        }
        return file;
    }

    private void exited(Process p) {
        String why;
        synchronized (this) {
            if (p != process) {
                return;
            }
            int code = p.exitValue();
            why = killReason != null ? "killed: " + killReason : code == 3 ? "exit code 3 (out of memory)"
                    : code == CGROUP_ENTRY_FAILED ? "exit code " + code + " (could not enter its cgroup)"
                    : "exit code " + code;
            lastExit = why;
            process = null;
            secret = null;
            closeChannel();
            removeCgroup(placement);
            if (stopped) {
                state = "stopped";
            } else {
                state = "restarting";
                if (System.nanoTime() - startedAt >= TimeUnit.MILLISECONDS.toNanos(settings.get().stableMillis())) {
                    failuresInRow = 0;
                }
                scheduleRestart();
            }
        }
        failAll(new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId + " ended (" + why + ")"
                + (stopped ? "" : "; it is being restarted")));
        if (!stopped) {
            LOG.warn("event=plugin_host_exited plugin={} reason=\"{}\" restart_in_ms={}", pluginId, why,
                    settings.get().restartDelay(failuresInRow));
        }
    }

    private synchronized void scheduleRestart() {
        failuresInRow++;
        state = "restarting";
        try {
            timers.schedule(this::launch, settings.get().restartDelay(failuresInRow), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            stopped = true; // the component is stopping
        }
    }

    private synchronized void kill(String reason) {
        if (process != null && killReason == null) {
            killReason = reason;
            LOG.warn("event=plugin_host_kill plugin={} pid={} reason=\"{}\"", pluginId, process.pid(), reason);
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    /** The heartbeat: pings a connected host, kills one that stopped answering or never connected. */
    private void tick() {
        RpcChannel ch;
        synchronized (this) {
            if (stopped || process == null || killReason != null) {
                return;
            }
            HostSettings s = settings.get();
            long now = System.nanoTime();
            if (channel == null) {
                if (now - startedAt > TimeUnit.MILLISECONDS.toNanos(s.startTimeoutMillis())) {
                    kill("did not connect within " + s.startTimeoutMillis() + " ms");
                }
                return;
            }
            if (now - lastPong > TimeUnit.MILLISECONDS.toNanos(s.heartbeatTimeoutMillis())) {
                kill("no answer to heartbeats for " + s.heartbeatTimeoutMillis() + " ms");
                return;
            }
            ch = channel;
        }
        ObjectNode ping = ch.message(Protocol.PING);
        ping.put("seq", System.nanoTime());
        try {
            ch.send(ping);
        } catch (IOException e) {
            lost(ch, e);
        }
    }

    void stop() {
        Process p;
        synchronized (this) {
            stopped = true;
            state = "stopped";
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
            closeChannel();
            p = process;
        }
        try {
            endpoint.close();
        } catch (IOException ignored) {
            // closing
        }
        for (ServiceRegistration<ChatModelProvider> r : registrations.values()) {
            try {
                r.unregister();
            } catch (IllegalStateException ignored) {
                // the stand-in stopped first
            }
        }
        for (ServiceRegistration<EmbeddingProvider> r : embedderRegistrations.values()) {
            try {
                r.unregister();
            } catch (IllegalStateException ignored) {
                // the stand-in stopped first
            }
        }
        registrations.clear();
        proxies.clear();
        embedderRegistrations.clear();
        embedders.clear();
        failAll(new ParleyException(ErrorCode.UNAVAILABLE, "the plugin " + pluginId + " was stopped"));
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            LOG.info("event=plugin_host_stopped plugin={} pid={}", pluginId, p.pid());
        }
    }

    /**
     * Removes a cgroup whose process has ended. The kernel may still be tearing the last threads down when the exit is
     * seen (the directory is busy then), so it is tried again a few times.
     */
    private void removeCgroup(HostCgroups.Placement cg) {
        if (cg == null || !cg.applied()) {
            return;
        }
        removeCgroup(cg, 1);
    }

    private void removeCgroup(HostCgroups.Placement cg, int attempt) {
        String left = cg.remove();
        if (left == null) {
            LOG.info("event=plugin_host_cgroup_removed plugin={} cgroup={}", pluginId, cg.path());
            return;
        }
        if (attempt >= CGROUP_REMOVE_TRIES) {
            LOG.warn("event=plugin_host_cgroup_not_removed plugin={} left=\"{}\"", pluginId, left);
            return;
        }
        try {
            timers.schedule(() -> removeCgroup(cg, attempt + 1), 100, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            LOG.warn("event=plugin_host_cgroup_not_removed plugin={} left=\"{}\"", pluginId, left);
        }
    }

    private void closeChannel() {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    private byte[] randomBytes() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return b;
    }

    // --- the connection ---

    /** Accepts connections for as long as the endpoint is open; each is handshaken on a thread of its own. */
    private void accept() {
        while (!endpoint.isClosed()) {
            Socket s;
            try {
                s = endpoint.accept();
            } catch (IOException e) {
                return; // closed
            }
            if (!handshakes.tryAcquire()) {
                close(s); // more unauthenticated connections than a host ever makes
                continue;
            }
            try {
                io.execute(() -> {
                    try {
                        serve(s);
                    } finally {
                        handshakes.release();
                    }
                });
            } catch (RejectedExecutionException e) {
                handshakes.release();
                close(s);
                return;
            }
        }
    }

    private void serve(Socket s) {
        RpcChannel ch;
        JsonNode hello;
        try {
            s.setSoTimeout(HANDSHAKE_TIMEOUT_MILLIS);
            s.setTcpNoDelay(true);
            ch = new RpcChannel(s, json, Protocol.HELLO_MAX_BYTES);
        } catch (IOException e) {
            close(s);
            return;
        }
        try {
            hello = ch.receive();
        } catch (RpcChannel.FrameTooLargeException e) {
            refuse(ch, "frame-too-large", e.getMessage());
            return;
        } catch (IOException e) {
            refuse(ch, "protocol", e.getMessage());
            return;
        }
        if (!Protocol.HELLO.equals(hello.path("type").asText()) || hello.path("v").asInt() != Protocol.VERSION) {
            refuse(ch, "version", "this server speaks plugin-host protocol version " + Protocol.VERSION);
            return;
        }
        byte[] given = hello.path("secret").asText("").getBytes(StandardCharsets.UTF_8);
        boolean accepted;
        synchronized (this) {
            byte[] expected = secret == null ? new byte[0] : secret.getBytes(StandardCharsets.UTF_8);
            accepted = secret != null && channel == null && !stopped && MessageDigest.isEqual(expected, given);
            if (accepted) {
                secret = null; // one connection per process
                channel = ch;
                state = "running";
                lastPong = System.nanoTime();
            }
        }
        if (!accepted) {
            refuse(ch, "bad-secret", "not a host this server started");
            return;
        }
        try {
            ch.maxFrameBytes(settings.get().maxFrameBytes());
            ObjectNode welcome = ch.message(Protocol.WELCOME);
            welcome.put("v", Protocol.VERSION);
            ch.send(welcome);
            s.setSoTimeout(0);
            int sent = sendConfigurations(ch);
            ObjectNode configured = ch.message(Protocol.CONFIGURED);
            configured.put("count", sent);
            ch.send(configured);
        } catch (IOException e) {
            lost(ch, e);
            return;
        }
        LOG.info("event=plugin_host_connected plugin={} host_pid={}", pluginId, hello.path("pid").asLong());
        read(ch);
    }

    private void refuse(RpcChannel ch, String reason, String detail) {
        LOG.warn("event=plugin_host_connection_refused plugin={} reason={} detail=\"{}\"", pluginId, reason, detail);
        ObjectNode m = ch.message(Protocol.REFUSED);
        m.put("reason", reason);
        ch.closeWith(m);
    }

    private void read(RpcChannel ch) {
        try {
            while (true) {
                JsonNode m = ch.receive();
                long rid = m.path("rid").asLong();
                switch (m.path("type").asText()) {
                    case Protocol.PONG -> {
                        synchronized (this) {
                            lastPong = System.nanoTime();
                        }
                    }
                    case Protocol.PROVIDERS -> providers(m);
                    case Protocol.PLUGIN -> plugin(m);
                    case Protocol.TOKEN -> stream(rid).ifPresent(s -> s.token(m.path("delta").asText()));
                    case Protocol.TOOL_CALL_DELTA -> stream(rid).ifPresent(s -> s.toolCallDelta(codec.toolCallDelta(m)));
                    case Protocol.ANSWERING -> stream(rid).ifPresent(s -> s.answering(m.path("provider").asText(),
                            m.path("model").asText()));
                    case Protocol.COMPLETE -> stream(rid).ifPresent(s -> s.complete(m.path("response")));
                    case Protocol.ESTIMATED -> {
                        CompletableFuture<Integer> f = estimates.remove(rid);
                        if (f != null) {
                            f.complete(m.path("tokens").asInt());
                        }
                    }
                    case Protocol.ERROR -> {
                        stream(rid).ifPresent(s -> s.fail(codec.error(m)));
                        CompletableFuture<Integer> estimate = estimates.remove(rid);
                        if (estimate != null) {
                            estimate.completeExceptionally(codec.error(m));
                        }
                        CompletableFuture<EmbeddingResponse> f = embeddings.remove(rid);
                        if (f != null) {
                            f.completeExceptionally(codec.error(m));
                        }
                    }
                    case Protocol.EMBEDDED -> {
                        CompletableFuture<EmbeddingResponse> f = embeddings.remove(rid);
                        if (f != null) {
                            f.complete(codec.embeddingResponse(m.path("response")));
                        }
                    }
                    default -> {
                        // a newer host's message: ignored (Protocol)
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            lost(ch, e);
        }
    }

    private java.util.Optional<RemoteStream> stream(long rid) {
        return java.util.Optional.ofNullable(streams.get(rid));
    }

    /**
     * The connection ended or broke the protocol. Usually the process is ending (its end closes the socket first):
     * the answers in flight are failed when it has, with its exit as the reason. A host still alive after
     * {@link #LOST_GRACE_MILLIS} (its agent ends the process when the connection does) is killed; either way it is
     * restarted, unless stopping.
     */
    private void lost(RpcChannel ch, Exception e) {
        Process p;
        synchronized (this) {
            if (channel != ch) {
                return;
            }
            closeChannel();
            p = process;
            if (p == null || stopped) {
                return;
            }
        }
        String reason = "connection lost: " + describe(e);
        try {
            timers.schedule(() -> {
                synchronized (this) {
                    if (process == p && p.isAlive()) {
                        kill(reason);
                    }
                }
            }, LOST_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException ex) {
            kill(reason);
        }
    }

    /** What the host reported of its plugin: its start and the sandbox's refusals there, bounded (Protocol). */
    private void plugin(JsonNode m) {
        String reported = m.path("state").asText("");
        String state = List.of("waiting", "active", "failed", "stopped").contains(reported) ? reported : "unknown";
        String error = m.path("error").isTextual() ? cut(m.path("error").asText()) : null;
        List<String> refused = new ArrayList<>();
        for (JsonNode r : m.path("refusals")) {
            if (refused.size() < Protocol.MAX_REFUSALS && r.isTextual()) {
                refused.add(cut(r.asText()));
            }
        }
        Map<String, Long> calls = new java.util.TreeMap<>();
        m.path("refusedCalls").fields().forEachRemaining(e -> {
            if (calls.size() < Protocol.MAX_REFUSALS && e.getValue().canConvertToLong()) {
                calls.put(cut(e.getKey()), e.getValue().asLong());
            }
        });
        boolean changed;
        synchronized (this) {
            changed = !state.equals(pluginState) || !java.util.Objects.equals(error, pluginError);
            pluginState = state;
            pluginError = error;
            refusals = List.copyOf(refused);
            refusedCalls = Map.copyOf(calls);
        }
        if (changed && "failed".equals(state)) {
            LOG.warn("event=plugin_host_plugin_not_started plugin={} reason=\"{}\" refusals=\"{}\"", pluginId, error,
                    refused);
        } else if (changed) {
            LOG.info("event=plugin_host_plugin plugin={} state={}", pluginId, state);
        }
    }

    private static String cut(String s) {
        return s.length() <= Protocol.MAX_REFUSAL_CHARS ? s : s.substring(0, Protocol.MAX_REFUSAL_CHARS - 1) + "…";
    }

    /** Registers a proxy for each announced provider, updates the models of known ones, removes the rest. */
    private void providers(JsonNode m) {
        Set<String> seen = new HashSet<>();
        Map<String, List<ModelDescriptor>> announced = new HashMap<>();
        Map<String, Map<String, String>> properties = new HashMap<>();
        for (JsonNode p : m.path("providers")) {
            String id = p.path("id").asText();
            if (id.isBlank()) {
                continue;
            }
            seen.add(id);
            announced.put(id, codec.models(p.path("models")));
            properties.put(id, carried(p.path("properties")));
        }
        Map<String, List<EmbeddingModel>> announcedEmbedders = new HashMap<>();
        Map<String, Map<String, String>> embedderProperties = new HashMap<>();
        for (JsonNode p : m.path("embedders")) {
            String id = p.path("id").asText();
            if (!id.isBlank()) {
                announcedEmbedders.put(id, codec.embeddingModels(p.path("models")));
                embedderProperties.put(id, carried(p.path("properties")));
            }
        }
        if (stopped) {
            return;
        }
        BundleContext context = standIn.getBundleContext();
        embedders(context, announcedEmbedders, embedderProperties);
        for (var e : announced.entrySet()) {
            Hashtable<String, Object> props = new Hashtable<>(properties.get(e.getKey()));
            props.put("parley.provider.id", e.getKey());
            props.put("parley.plugin.host", pluginId);
            RemoteChatProvider known = proxies.get(e.getKey());
            if (known != null) {
                known.models(e.getValue());
                ServiceRegistration<ChatModelProvider> r = registrations.get(e.getKey());
                if (r != null && !sameProperties(r.getReference(), props)) {
                    r.setProperties(props);
                }
                continue;
            }
            RemoteChatProvider proxy = new RemoteChatProvider(e.getKey(), e.getValue(), this);
            proxies.put(e.getKey(), proxy);
            if (context != null) {
                registrations.put(e.getKey(), context.registerService(ChatModelProvider.class, proxy, props));
                LOG.info("event=plugin_host_provider plugin={} provider={} models={}", pluginId, e.getKey(),
                        e.getValue().size());
            }
        }
        for (String id : new ArrayList<>(proxies.keySet())) {
            if (!seen.contains(id)) {
                proxies.remove(id);
                ServiceRegistration<ChatModelProvider> r = registrations.remove(id);
                if (r != null) {
                    try {
                        r.unregister();
                    } catch (IllegalStateException ignored) {
                        // gone already
                    }
                }
            }
        }
    }

    private void embedders(BundleContext context, Map<String, List<EmbeddingModel>> announced,
            Map<String, Map<String, String>> properties) {
        for (var e : announced.entrySet()) {
            Hashtable<String, Object> props = new Hashtable<>(properties.get(e.getKey()));
            props.put("parley.provider.id", e.getKey());
            props.put("parley.plugin.host", pluginId);
            RemoteEmbeddingProvider known = embedders.get(e.getKey());
            if (known != null) {
                known.models(e.getValue());
                ServiceRegistration<EmbeddingProvider> r = embedderRegistrations.get(e.getKey());
                if (r != null && !sameProperties(r.getReference(), props)) {
                    r.setProperties(props);
                }
                continue;
            }
            RemoteEmbeddingProvider proxy = new RemoteEmbeddingProvider(e.getKey(), e.getValue(), this);
            embedders.put(e.getKey(), proxy);
            if (context != null) {
                embedderRegistrations.put(e.getKey(), context.registerService(EmbeddingProvider.class, proxy, props));
                LOG.info("event=plugin_host_embedding_provider plugin={} provider={} models={}", pluginId, e.getKey(),
                        e.getValue().size());
            }
        }
        for (String id : new ArrayList<>(embedders.keySet())) {
            if (!announced.containsKey(id)) {
                embedders.remove(id);
                ServiceRegistration<EmbeddingProvider> r = embedderRegistrations.remove(id);
                if (r != null) {
                    try {
                        r.unregister();
                    } catch (IllegalStateException ignored) {
                        // gone already
                    }
                }
            }
        }
    }

    /**
     * The service properties a proxy takes from what the host announced: only which tenant's instance the provider is
     * (ADR 26), never anything else a plugin might set.
     */
    static Map<String, String> carried(JsonNode announced) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (String key : List.of(ChatModelProvider.TENANT_PROPERTY, TENANT_INSTANCE_PROPERTY)) {
            JsonNode v = announced.path(key);
            if (v.isTextual() && !v.asText().isBlank() && v.asText().length() <= 200) {
                out.put(key, v.asText());
            }
        }
        return out;
    }

    private static boolean sameProperties(org.osgi.framework.ServiceReference<?> ref, Map<String, Object> props) {
        for (String key : List.of(ChatModelProvider.TENANT_PROPERTY, TENANT_INSTANCE_PROPERTY)) {
            if (!java.util.Objects.equals(ref.getProperty(key), props.get(key))) {
                return false;
            }
        }
        return true;
    }

    // --- the plugin's configurations ---

    /**
     * Whether a configuration of {@code pid} (or a factory configuration of {@code factoryPid}) goes to this host: the
     * plugin's, or the sandbox's ({@value Protocol#SANDBOX_PID} and its tiers, which the host's hooks apply as the
     * server's do).
     */
    boolean reads(String pid, String factoryPid) {
        return pids.contains(pid) || (factoryPid != null && pids.contains(factoryPid)) || sandbox(pid, factoryPid);
    }

    static boolean sandbox(String pid, String factoryPid) {
        return Protocol.SANDBOX_PID.equals(pid) || Protocol.SANDBOX_TIER_PID.equals(factoryPid);
    }

    /**
     * Sends every configuration of the plugin's PIDs and of the sandbox's to a host that just connected; its agent
     * starts the plugin once the sandbox's are in force there. @return how many
     */
    private int sendConfigurations(RpcChannel ch) throws IOException {
        ConfigurationAdmin cm = configAdmin.get();
        if (cm == null) {
            LOG.warn("event=plugin_host_no_configurations plugin={} hint=\"no Configuration Admin: the host's sandbox "
                    + "hooks have their defaults only\"", pluginId);
            return 0;
        }
        int sent = 0;
        synchronized (configLock) {
            for (Configuration c : configurations(cm)) {
                if (sent >= Protocol.MAX_CONFIGURATIONS) {
                    LOG.warn("event=plugin_host_configurations_dropped plugin={} max={}", pluginId,
                            Protocol.MAX_CONFIGURATIONS);
                    break;
                }
                if (sendConfiguration(ch, c)) {
                    sent++;
                }
            }
        }
        return sent;
    }

    /** A configuration of the plugin's PIDs was made, changed or deleted in the server: the host follows. */
    void configurationChanged(String pid) {
        RpcChannel ch;
        synchronized (this) {
            ch = channel;
        }
        ConfigurationAdmin cm = configAdmin.get();
        if (ch == null || cm == null) {
            return; // a host that connects later gets the configurations as they are then
        }
        try {
            synchronized (configLock) {
                Configuration current = null;
                for (Configuration c : configurations(cm)) {
                    if (c.getPid().equals(pid)) {
                        current = c;
                    }
                }
                if (current == null || !sendConfiguration(ch, current)) {
                    ObjectNode m = ch.message(Protocol.CONFIG_DELETED);
                    m.put("pid", pid);
                    ch.send(m);
                }
            }
            LOG.info("event=plugin_host_configuration plugin={} pid={}", pluginId, pid);
        } catch (IOException e) {
            lost(ch, e);
        }
    }

    private List<Configuration> configurations(ConfigurationAdmin cm) throws IOException {
        StringBuilder filter = new StringBuilder("(|(service.pid=" + Protocol.SANDBOX_PID + ")(service.factoryPid="
                + Protocol.SANDBOX_TIER_PID + ")");
        for (String pid : pids) {
            String v = pid.replace("\\", "\\5c").replace("*", "\\2a").replace("(", "\\28").replace(")", "\\29");
            filter.append("(service.pid=").append(v).append(")(service.factoryPid=").append(v).append(")");
        }
        filter.append(")");
        try {
            Configuration[] found = cm.listConfigurations(filter.toString());
            return found == null ? List.of() : List.of(found);
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Sends one configuration, if it is for this plugin: not bound to another bundle's location (a location starting
     * with {@code ?} is a region anyone may use, as the platform writes plugin settings). @return whether it was sent
     */
    private boolean sendConfiguration(RpcChannel ch, Configuration c) throws IOException {
        String location = c.getBundleLocation();
        if (location != null && !location.startsWith("?") && !location.equals(standIn.getLocation())
                && !sandbox(c.getPid(), c.getFactoryPid())) {
            return false;
        }
        Dictionary<String, Object> props = c.getProperties();
        if (props == null) {
            return false; // made, never updated: no configuration yet
        }
        Map<String, Object> values = new HashMap<>();
        for (var keys = props.keys(); keys.hasMoreElements();) {
            String k = keys.nextElement();
            if (!k.equals("felix.fileinstall.filename")) {
                values.put(k, props.get(k));
            }
        }
        ObjectNode m = ch.message(Protocol.CONFIG);
        m.put("pid", c.getPid());
        if (c.getFactoryPid() != null) {
            m.put("factoryPid", c.getFactoryPid());
        }
        try {
            m.set("properties", codec.properties(values));
            ch.send(m);
        } catch (IllegalArgumentException | RpcChannel.FrameTooLargeException e) {
            // Names only, never values: a configuration may hold secrets.
            LOG.warn("event=plugin_host_configuration_not_sent plugin={} pid={} reason=\"{}\"", pluginId, c.getPid(),
                    e.getMessage());
            return false;
        }
        return true;
    }

    // --- answers ---

    /** {@code estimateTokens} of the plugin's provider, answered by the host within {@link #ESTIMATE_TIMEOUT_MILLIS}. */
    int estimate(String providerId, String model, List<ChatMessage> messages) {
        RpcChannel ch;
        String why;
        synchronized (this) {
            ch = channel;
            why = state + (lastExit == null ? "" : ", last exit: " + lastExit);
        }
        if (ch == null) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId + " is not running ("
                    + why + ")");
        }
        long rid = rids.incrementAndGet();
        CompletableFuture<Integer> result = new CompletableFuture<>();
        estimates.put(rid, result);
        ObjectNode m = ch.message(Protocol.ESTIMATE);
        m.put("rid", rid);
        m.put("provider", providerId);
        m.put("model", model);
        m.set("messages", codec.messages(messages));
        try {
            ch.send(m);
            return result.get(ESTIMATE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RpcChannel.FrameTooLargeException e) {
            throw new ParleyException(ErrorCode.TOO_LARGE, "the messages are larger than a plugin host takes ("
                    + e.getMessage() + ")");
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId + " cannot be reached: "
                    + e.getMessage());
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof ParleyException pe ? pe : new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "estimateTokens failed in the plugin host of " + pluginId + ": " + e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the plugin host of " + pluginId + " did not "
                    + "estimate tokens within " + ESTIMATE_TIMEOUT_MILLIS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ParleyException(ErrorCode.CANCELLED, "interrupted");
        } finally {
            estimates.remove(rid);
        }
    }

    CompletionStage<EmbeddingResponse> embed(String providerId, EmbeddingRequest request) {
        RpcChannel ch;
        String why;
        synchronized (this) {
            ch = channel;
            why = state + (lastExit == null ? "" : ", last exit: " + lastExit);
        }
        CompletableFuture<EmbeddingResponse> result = new CompletableFuture<>();
        if (ch == null) {
            result.completeExceptionally(new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId
                    + " is not running (" + why + ")"));
            return result;
        }
        long rid = rids.incrementAndGet();
        embeddings.put(rid, result);
        ObjectNode m = ch.message(Protocol.EMBED);
        m.put("rid", rid);
        m.put("provider", providerId);
        m.set("request", codec.embeddingRequest(request));
        try {
            ch.send(m);
        } catch (RpcChannel.FrameTooLargeException e) {
            embeddings.remove(rid);
            result.completeExceptionally(new ParleyException(ErrorCode.TOO_LARGE, "the request is larger than a "
                    + "plugin host takes (" + e.getMessage() + ")"));
        } catch (IOException e) {
            embeddings.remove(rid);
            result.completeExceptionally(new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId
                    + " cannot be reached: " + e.getMessage()));
        }
        return result;
    }

    StreamHandle call(String providerId, ChatRequest request, ChatStreamHandler handler, boolean whole) {
        RpcChannel ch;
        String why;
        synchronized (this) {
            ch = channel;
            why = state + (lastExit == null ? "" : ", last exit: " + lastExit);
        }
        long rid = rids.incrementAndGet();
        RemoteStream s = new RemoteStream(rid, handler);
        if (ch == null) {
            s.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId
                    + " is not running (" + why + ")"));
            return s;
        }
        s.channel = ch;
        streams.put(rid, s);
        ObjectNode m = ch.message(Protocol.STREAM);
        m.put("rid", rid);
        m.put("provider", providerId);
        m.put("whole", whole);
        m.set("request", codec.request(request));
        try {
            ch.send(m);
        } catch (RpcChannel.FrameTooLargeException e) {
            s.fail(new ParleyException(ErrorCode.TOO_LARGE, "the request is larger than a plugin host takes ("
                    + e.getMessage() + ")"));
        } catch (IOException e) {
            s.fail(new ParleyException(ErrorCode.UNAVAILABLE, "the plugin host of " + pluginId
                    + " cannot be reached: " + e.getMessage()));
        }
        return s;
    }

    private void failAll(ParleyException e) {
        for (Long rid : new ArrayList<>(estimates.keySet())) {
            CompletableFuture<Integer> f = estimates.remove(rid);
            if (f != null) {
                f.completeExceptionally(e);
            }
        }
        for (RemoteStream s : new ArrayList<>(streams.values())) {
            s.fail(e);
        }
        for (Long rid : new ArrayList<>(embeddings.keySet())) {
            CompletableFuture<EmbeddingResponse> f = embeddings.remove(rid);
            if (f != null) {
                f.completeExceptionally(e);
            }
        }
    }

    private static String describe(Exception e) {
        return e instanceof java.io.EOFException ? "closed by the host"
                : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** One answer in flight: the host's messages for it reach the caller's handler; exactly one ending. */
    private final class RemoteStream implements StreamHandle {
        private final long rid;
        private final ChatStreamHandler handler;
        private final AtomicBoolean ended = new AtomicBoolean();
        private volatile RpcChannel channel;

        RemoteStream(long rid, ChatStreamHandler handler) {
            this.rid = rid;
            this.handler = handler;
        }

        void token(String delta) {
            if (!ended.get()) {
                handler.onToken(delta);
            }
        }

        void toolCallDelta(dev.parley.api.llm.ToolCallDelta delta) {
            if (!ended.get()) {
                handler.onToolCallDelta(delta);
            }
        }

        void answering(String provider, String model) {
            if (!ended.get()) {
                handler.onAnsweringModel(provider, model);
            }
        }

        void complete(JsonNode response) {
            if (ended.compareAndSet(false, true)) {
                streams.remove(rid);
                handler.onComplete(codec.response(response));
            }
        }

        void fail(ParleyException e) {
            if (ended.compareAndSet(false, true)) {
                streams.remove(rid);
                handler.onError(e);
            }
        }

        @Override
        public void cancel() {
            RpcChannel ch = channel;
            if (ended.get()) {
                return;
            }
            if (ch != null) {
                ObjectNode m = ch.message(Protocol.CANCEL);
                m.put("rid", rid);
                try {
                    ch.send(m);
                    return; // the plugin ends the answer with CANCELLED
                } catch (IOException e) {
                    // the host is gone: end it here
                }
            }
            fail(new ParleyException(ErrorCode.CANCELLED, "cancelled"));
        }
    }
}

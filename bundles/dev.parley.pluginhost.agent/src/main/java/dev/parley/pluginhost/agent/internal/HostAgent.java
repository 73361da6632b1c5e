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
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
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
 */
@Component(immediate = true)
public final class HostAgent {
    private static final System.Logger LOG = System.getLogger(HostAgent.class.getName());

    private final BundleContext context;
    private final ObjectMapper json = new ObjectMapper();
    private final WireCodec codec = new WireCodec(json);
    private final Map<ChatModelProvider, Boolean> providers = new ConcurrentHashMap<>();
    private final Map<EmbeddingProvider, Boolean> embedders = new ConcurrentHashMap<>();
    private final Map<Long, StreamHandle> handles = new ConcurrentHashMap<>();
    private final Map<Long, Boolean> cancelled = new ConcurrentHashMap<>();
    private final AtomicReference<String> lastAnnounced = new AtomicReference<>("");
    private final ExecutorService reader;
    private final ExecutorService calls;
    private final ScheduledExecutorService announcer;
    private final RpcChannel channel;
    private volatile boolean stopping;

    @Activate
    public HostAgent(BundleContext context) throws IOException {
        this.context = context;
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
        socket.setSoTimeout(0);
        channel.maxFrameBytes(maxFrame);
        reader = Executors.newSingleThreadExecutor(DaemonThreads.named("parley-host-rpc"));
        calls = new java.util.concurrent.ThreadPoolExecutor(0, maxCalls, 30, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), DaemonThreads.named("parley-host-call"));
        announcer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("parley-host-announce"));
        announcer.scheduleWithFixedDelay(this::announce, 0, 1, TimeUnit.SECONDS);
        reader.execute(this::read);
        LOG.log(System.Logger.Level.INFO, "event=plugin_host_connected port=" + port);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addProvider(ChatModelProvider provider) {
        providers.put(provider, Boolean.TRUE);
        announceSoon();
    }

    void removeProvider(ChatModelProvider provider) {
        providers.remove(provider);
        announceSoon();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addEmbedder(EmbeddingProvider provider) {
        embedders.put(provider, Boolean.TRUE);
        announceSoon();
    }

    void removeEmbedder(EmbeddingProvider provider) {
        embedders.remove(provider);
        announceSoon();
    }

    @Deactivate
    void deactivate() {
        stopping = true;
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
        for (ChatModelProvider p : providers.keySet()) {
            try {
                ObjectNode pn = list.addObject();
                pn.put("id", p.id());
                pn.set("models", codec.models(p.models()));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "event=plugin_host_models_failed error=" + e);
            }
        }
        ArrayNode embedding = m.putArray("embedders");
        for (EmbeddingProvider p : embedders.keySet()) {
            try {
                ObjectNode pn = embedding.addObject();
                pn.put("id", p.id());
                pn.set("models", codec.embeddingModels(p.embeddingModels()));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "event=plugin_host_models_failed error=" + e);
            }
        }
        String text = m.toString();
        if (text.equals(lastAnnounced.get())) {
            return;
        }
        try {
            channel.send(m);
            lastAnnounced.set(text);
        } catch (IOException e) {
            gone(e);
        }
    }

    private void read() {
        try {
            while (!stopping) {
                JsonNode m = channel.receive();
                switch (m.path("type").asText()) {
                    case Protocol.PING -> {
                        ObjectNode pong = channel.message(Protocol.PONG);
                        pong.put("seq", m.path("seq").asLong());
                        channel.send(pong);
                    }
                    case Protocol.STREAM -> start(m);
                    case Protocol.CANCEL -> cancel(m.path("rid").asLong());
                    case Protocol.EMBED -> embed(m);
                    default -> {
                        // a newer server's message this host does not know: ignored (Protocol)
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            gone(e);
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

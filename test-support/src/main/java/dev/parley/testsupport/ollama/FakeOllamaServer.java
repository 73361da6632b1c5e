package dev.parley.testsupport.ollama;

import static dev.parley.testsupport.FakeServers.cut;
import static dev.parley.testsupport.FakeServers.daemonThreads;
import static dev.parley.testsupport.FakeServers.pause;

import dev.parley.testsupport.FakeServers.StreamCut;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.parley.testsupport.RecordedRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP server speaking Ollama's native REST API as documented in Ollama's {@code docs/api.md}
 * (docs.ollama.com/api): {@code POST /api/chat} (streamed as NDJSON — one JSON object per line,
 * {@code Content-Type: application/x-ndjson} — or, with {@code "stream": false}, one JSON object),
 * {@code POST /api/embed}, {@code GET /api/tags}, {@code POST /api/show}, and {@code GET /} ("Ollama is running").
 *
 * <p>Shapes follow the docs and Ollama's {@code api/types.go}: a chat line is {@code {"model", "created_at",
 * "message": {"role": "assistant", "content", "tool_calls"?}, "done": false}}; the last line has {@code "done": true},
 * {@code done_reason}, {@code total_duration}, {@code load_duration}, {@code prompt_eval_count},
 * {@code prompt_eval_duration}, {@code eval_count}, {@code eval_duration}. Tool calls are whole objects
 * {@code {"function": {"index", "name", "arguments": {...}}}} without ids. Errors are {@code {"error": "..."}} with
 * 400, 404 (model not pulled: {@code model "x" not found, try pulling it first}), 500 or 503 (queue full); a failure
 * while streaming is an {@code {"error": "..."}} line after the 200 (docs/api/errors). Ollama has no auth: a token,
 * when set, stands for a proxy in front of it, which answers 401 {@code {"error": "unauthorized"}}.
 *
 * <p>Usage is deterministic: {@code prompt_eval_count} is the number of words in the request's message contents and
 * {@code eval_count} the number of content lines of the answer. A request for a model that is not in
 * {@link #models} gets Ollama's 404.
 */
public final class FakeOllamaServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final String token;
    private final Queue<OllamaBehaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger completedStreams = new AtomicInteger();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile OllamaBehaviour defaultBehaviour = OllamaBehaviour.echo();
    private volatile List<String> chatModels = List.of("llama3.2:latest", "llava:latest");
    private volatile List<String> embeddingModels = List.of("nomic-embed-text:latest");
    private volatile int embeddingDimensions = 8;
    private volatile int maxEmbedInputWords = Integer.MAX_VALUE;
    private volatile boolean showCapabilities = true;
    private volatile Queue<OllamaBehaviour> embedQueue = new ConcurrentLinkedQueue<>();

    private FakeOllamaServer(String token) throws IOException {
        this.token = token;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        this.executor = Executors.newCachedThreadPool(daemonThreads("fake-ollama"));
        server.setExecutor(executor);
        server.createContext("/api/chat", this::chat);
        server.createContext("/api/embed", this::embed);
        server.createContext("/api/tags", this::tags);
        server.createContext("/api/show", this::show);
        server.createContext("/", this::root);
        server.start();
    }

    /** A server that, like Ollama, takes any caller. */
    public static FakeOllamaServer start() {
        return start(null);
    }

    /** A server behind a proxy that demands {@code Authorization: Bearer <token>} (null: any caller). */
    public static FakeOllamaServer start(String token) {
        try {
            return new FakeOllamaServer(token);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the fake Ollama server", e);
        }
    }

    /** The base URL a client is configured with, e.g. {@code http://127.0.0.1:12345} (no {@code /api}). */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    // ---- scripting ----------------------------------------------------------------------------------------------

    /** Queues a behaviour for the next chat request. */
    public OllamaBehaviour enqueue(OllamaBehaviour behaviour) {
        queue.add(behaviour);
        return behaviour;
    }

    /** What chat requests get when the queue is empty (initially {@link OllamaBehaviour#echo()}). */
    public FakeOllamaServer defaultBehaviour(OllamaBehaviour behaviour) {
        this.defaultBehaviour = behaviour;
        return this;
    }

    /** Queues a behaviour for the next embed request (only {@code fail} and header-delay settings apply). */
    public OllamaBehaviour enqueueEmbed(OllamaBehaviour behaviour) {
        embedQueue.add(behaviour);
        return behaviour;
    }

    /** The chat models the server has pulled (listed by /api/tags with family llama). */
    public FakeOllamaServer chatModels(String... names) {
        this.chatModels = List.of(names);
        return this;
    }

    /** The embedding models the server has pulled (listed by /api/tags with family nomic-bert). */
    public FakeOllamaServer embeddingModels(String... names) {
        this.embeddingModels = List.of(names);
        return this;
    }

    /** The length of the vectors /api/embed returns (default 8). */
    public FakeOllamaServer embeddingDimensions(int dimensions) {
        this.embeddingDimensions = dimensions;
        return this;
    }

    /**
     * Inputs longer than this many words fail /api/embed with Ollama's 400 {@code the input length exceeds the
     * context length} (what it answers with {@code "truncate": false}).
     */
    public FakeOllamaServer maxEmbedInputWords(int words) {
        this.maxEmbedInputWords = words;
        return this;
    }

    /**
     * Whether /api/show lists {@code capabilities} (Ollama 0.6+; default true): {@code completion} and {@code tools}
     * for chat models ({@code vision} instead of {@code tools} for {@code llava*}), {@code embedding} for embedding
     * models. False plays an older server.
     */
    public FakeOllamaServer showCapabilities(boolean show) {
        this.showCapabilities = show;
        return this;
    }

    // ---- observing --------------------------------------------------------------------------------------------

    /** Every request received so far, in order. */
    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** The /api/chat requests received so far. */
    public List<RecordedRequest> chatRequests() {
        return requests.stream().filter(r -> r.path().equals("/api/chat")).toList();
    }

    /** The last /api/chat request, or null. */
    public RecordedRequest lastChatRequest() {
        List<RecordedRequest> chat = chatRequests();
        return chat.isEmpty() ? null : chat.get(chat.size() - 1);
    }

    /** The /api/embed requests received so far. */
    public List<RecordedRequest> embedRequests() {
        return requests.stream().filter(r -> r.path().equals("/api/embed")).toList();
    }

    /** Chat requests being answered now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Streams that reached their {@code "done": true} line. */
    public int completedStreams() {
        return completedStreams.get();
    }

    /** Answers that ended because the client went away while the server was still writing. */
    public int abortedByClient() {
        return abortedByClient.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    // ---- protocol -----------------------------------------------------------------------------------------------

    private void root(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex, MissingNode.getInstance());
            byte[] body = "Ollama is running".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.sendResponseHeaders("/".equals(ex.getRequestURI().getPath()) ? 200 : 404, body.length);
            ex.getResponseBody().write(body);
        }
    }

    private void tags(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex, MissingNode.getInstance());
            if (!authorized(ex) || !method(ex, "GET")) {
                return;
            }
            ObjectNode root = JSON.createObjectNode();
            ArrayNode models = root.putArray("models");
            for (String name : chatModels) {
                model(models.addObject(), name, "llama", "3.2B");
            }
            for (String name : embeddingModels) {
                model(models.addObject(), name, "nomic-bert", "137M");
            }
            sendJson(ex, 200, root);
        }
    }

    private static void model(ObjectNode m, String name, String family, String size) {
        m.put("name", name).put("model", name).put("modified_at", "2025-05-04T17:37:44.706015396-07:00")
                .put("size", 2_019_393_189L).put("digest", Integer.toHexString(name.hashCode()) + "0".repeat(56));
        ObjectNode d = m.putObject("details").put("parent_model", "").put("format", "gguf").put("family", family);
        d.putArray("families").add(family);
        d.put("parameter_size", size).put("quantization_level", "Q4_K_M");
    }

    private void show(HttpExchange ex) throws IOException {
        try (ex) {
            JsonNode body = readBody(ex);
            if (body == null || !authorized(ex) || !method(ex, "POST")) {
                return;
            }
            String name = body.path("model").asText(body.path("name").asText(""));
            if (!known(name)) {
                sendError(ex, 404, "model '" + name + "' not found");
                return;
            }
            boolean embedding = knownIn(embeddingModels, name);
            ObjectNode root = JSON.createObjectNode().put("modelfile", "FROM " + name).put("template", "{{ .Prompt }}");
            ObjectNode d = root.putObject("details").put("format", "gguf").put("family", embedding ? "nomic-bert" : "llama");
            d.putArray("families").add(embedding ? "nomic-bert" : "llama");
            root.putObject("model_info").put("general.architecture", embedding ? "nomic-bert" : "llama")
                    .put((embedding ? "nomic-bert" : "llama") + ".context_length", embedding ? 2048 : 131072);
            if (showCapabilities) {
                ArrayNode caps = root.putArray("capabilities");
                if (embedding) {
                    caps.add("embedding");
                } else {
                    caps.add("completion");
                    if (name.startsWith("llava")) {
                        caps.add("vision");
                    } else {
                        caps.add("tools");
                    }
                }
            }
            sendJson(ex, 200, root);
        }
    }

    private void embed(HttpExchange ex) throws IOException {
        try (ex) {
            JsonNode body = readBody(ex);
            if (body == null || !authorized(ex) || !method(ex, "POST")) {
                return;
            }
            OllamaBehaviour b = embedQueue.poll();
            if (b != null && b.headersDelay != null) {
                pause(b.headersDelay);
            }
            if (b != null && b.kind == OllamaBehaviour.Kind.FAIL) {
                b.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
                sendError(ex, b.status, b.errorMessage);
                return;
            }
            String model = body.path("model").asText("");
            if (!known(model)) {
                sendError(ex, 404, "model \"" + model + "\" not found, try pulling it first");
                return;
            }
            JsonNode input = body.path("input");
            List<String> inputs = new ArrayList<>();
            if (input.isTextual()) {
                inputs.add(input.asText());
            } else if (input.isArray()) {
                input.forEach(n -> inputs.add(n.asText()));
            } else {
                sendError(ex, 400, "invalid input type");
                return;
            }
            int dims = body.path("dimensions").asInt(embeddingDimensions);
            int words = 0;
            ObjectNode root = JSON.createObjectNode().put("model", model);
            ArrayNode vectors = root.putArray("embeddings");
            for (String s : inputs) {
                int n = words(s);
                if (n > maxEmbedInputWords) {
                    sendError(ex, 400, "the input length exceeds the context length");
                    return;
                }
                words += n;
                ArrayNode v = vectors.addArray();
                for (float f : vector(s, dims)) {
                    v.add(f);
                }
            }
            root.put("total_duration", 14_143_917L).put("load_duration", 1_019_500L).put("prompt_eval_count", words);
            sendJson(ex, 200, root);
        }
    }

    /** A deterministic unit vector for {@code text}, so tests can compare what came back. */
    public static float[] vector(String text, int dims) {
        float[] v = new float[dims];
        int h = text.hashCode();
        double norm = 0;
        for (int i = 0; i < dims; i++) {
            h = h * 31 + i + 7;
            v[i] = (h % 1000) / 1000f;
            norm += v[i] * v[i];
        }
        float n = (float) Math.sqrt(norm == 0 ? 1 : norm);
        for (int i = 0; i < dims; i++) {
            v[i] /= n;
        }
        return v;
    }

    private void chat(HttpExchange ex) throws IOException {
        inFlight.incrementAndGet();
        boolean closeExchange = true;
        try {
            JsonNode body = readBody(ex);
            if (body == null || !authorized(ex) || !method(ex, "POST")) {
                return;
            }
            OllamaBehaviour b = queue.poll();
            if (b == null) {
                b = defaultBehaviour;
            }
            String model = body.path("model").asText("");
            if (b.headersDelay != null) {
                pause(b.headersDelay);
            }
            b.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            if (b.kind == OllamaBehaviour.Kind.FAIL) {
                sendError(ex, b.status, b.errorMessage);
                return;
            }
            if (!known(model)) {
                sendError(ex, 404, "model \"" + model + "\" not found, try pulling it first");
                return;
            }
            if (!body.path("messages").isArray()) {
                sendError(ex, 400, "messages is required");
                return;
            }
            List<String> pieces = switch (b.kind) {
                case REPLY -> pieces(b.text);
                case ECHO -> pieces("echo: " + lastUserText(body));
                case TOOL_CALLS -> b.textBeforeCalls == null ? List.of() : pieces(b.textBeforeCalls);
                default -> List.of();
            };
            // Ollama streams unless the request says "stream": false (docs/api.md: "stream: if false the response
            // will be returned as a single response object").
            if (body.path("stream").asBoolean(true)) {
                closeExchange = stream(ex, b, model, pieces, promptWords(body));
            } else {
                whole(ex, b, model, pieces, promptWords(body));
            }
        } catch (StreamCut cut) {
            // Escaping the handler without closing makes HttpServer drop the connection: no terminating chunk.
            closeExchange = false;
            throw cut;
        } finally {
            inFlight.decrementAndGet();
            if (closeExchange) {
                ex.close();
            }
        }
    }

    private boolean stream(HttpExchange ex, OllamaBehaviour b, String model, List<String> pieces, int promptWords)
            throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/x-ndjson");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        try {
            pause(b.firstTokenDelay);
            int sent = 0;
            for (String piece : pieces) {
                if (sent == b.cutAfter) {
                    cut();
                }
                if (sent == b.malformedAfter) {
                    line(out, "{\"model\":\"" + model + "\",\"message\":{not json");
                }
                if (sent == b.errorAfter) {
                    line(out, JSON.writeValueAsString(JSON.createObjectNode().put("error", b.streamError)));
                    return true;
                }
                if (sent == b.endWithoutDoneAfter) {
                    return true;
                }
                if (sent > 0) {
                    pause(b.tokenDelay);
                }
                ObjectNode chunk = chunk(model);
                chunk.putObject("message").put("role", "assistant").put("content", piece);
                chunk.put("done", false);
                line(out, JSON.writeValueAsString(chunk));
                sent++;
            }
            if (sent == b.cutAfter) {
                cut();
            }
            if (sent == b.malformedAfter) {
                line(out, "{not json");
            }
            if (sent == b.errorAfter) {
                line(out, JSON.writeValueAsString(JSON.createObjectNode().put("error", b.streamError)));
                return true;
            }
            if (sent == b.endWithoutDoneAfter) {
                return true;
            }
            if (!b.calls.isEmpty()) {
                if (b.callsInOneLine) {
                    ObjectNode chunk = chunk(model);
                    ObjectNode message = chunk.putObject("message").put("role", "assistant").put("content", "");
                    ArrayNode calls = message.putArray("tool_calls");
                    for (int i = 0; i < b.calls.size(); i++) {
                        toolCall(calls.addObject(), b, i);
                    }
                    chunk.put("done", false);
                    line(out, JSON.writeValueAsString(chunk));
                } else {
                    for (int i = 0; i < b.calls.size(); i++) {
                        pause(i == 0 ? null : b.tokenDelay);
                        ObjectNode chunk = chunk(model);
                        ObjectNode message = chunk.putObject("message").put("role", "assistant").put("content", "");
                        toolCall(message.putArray("tool_calls").addObject(), b, i);
                        chunk.put("done", false);
                        line(out, JSON.writeValueAsString(chunk));
                    }
                }
            }
            ObjectNode done = chunk(model);
            done.putObject("message").put("role", "assistant").put("content", "");
            done.put("done_reason", b.doneReason).put("done", true);
            stats(done, b, promptWords, pieces.size() + b.calls.size());
            line(out, JSON.writeValueAsString(done));
            completedStreams.incrementAndGet();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    private void whole(HttpExchange ex, OllamaBehaviour b, String model, List<String> pieces, int promptWords)
            throws IOException {
        // A real model generates the whole answer before a non-streamed reply goes out: take as long as a stream.
        pause(b.firstTokenDelay);
        if (b.tokenDelay != null) {
            pause(b.tokenDelay.multipliedBy(Math.max(0, pieces.size() - 1)));
        }
        ObjectNode root = chunk(model);
        ObjectNode message = root.putObject("message").put("role", "assistant").put("content", String.join("", pieces));
        if (!b.calls.isEmpty()) {
            ArrayNode calls = message.putArray("tool_calls");
            for (int i = 0; i < b.calls.size(); i++) {
                toolCall(calls.addObject(), b, i);
            }
        }
        root.put("done_reason", b.doneReason).put("done", true);
        stats(root, b, promptWords, pieces.size() + b.calls.size());
        if (b.malformedAfter >= 0) {
            byte[] broken = "{\"model\":\"x\",\"message\":{not json".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
            ex.sendResponseHeaders(200, broken.length);
            ex.getResponseBody().write(broken);
            return;
        }
        if (b.errorAfter >= 0) {
            // Without streaming, a failure after the model started is an error status with the error object.
            sendError(ex, 500, b.streamError);
            return;
        }
        byte[] bytes = JSON.writeValueAsBytes(root);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        if (b.cutAfter >= 0 || b.endWithoutDoneAfter >= 0) {
            ex.sendResponseHeaders(200, bytes.length);
            OutputStream out = ex.getResponseBody();
            out.write(bytes, 0, bytes.length / 2);
            out.flush();
            cut();
        }
        ex.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void toolCall(ObjectNode call, OllamaBehaviour b, int index) throws IOException {
        if (b.toolCallIdPrefix != null) {
            call.put("id", b.toolCallIdPrefix + index);
        }
        ObjectNode f = call.putObject("function").put("index", index).put("name", b.calls.get(index).name());
        f.set("arguments", JSON.readTree(b.calls.get(index).argumentsJson()));
    }

    private static ObjectNode chunk(String model) {
        return JSON.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
    }

    private static void stats(ObjectNode done, OllamaBehaviour b, int promptWords, int evalCount) {
        done.put("total_duration", 4_883_583_458L).put("load_duration", 1_334_875L);
        if (!b.omitPromptEvalCount) {
            done.put("prompt_eval_count", promptWords).put("prompt_eval_duration", 342_546_000L);
        }
        done.put("eval_count", evalCount).put("eval_duration", 4_535_599_000L);
    }

    private static void line(OutputStream out, String json) throws IOException {
        out.write((json + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    // ---- plumbing ----------------------------------------------------------------------------------------------

    /** Reads and records the JSON body; answers 400 and returns null when it is not JSON. */
    private JsonNode readBody(HttpExchange ex) throws IOException {
        byte[] raw = ex.getRequestBody().readAllBytes();
        JsonNode body;
        try {
            body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
        } catch (IOException e) {
            record(ex, MissingNode.getInstance());
            sendError(ex, 400, "invalid character looking for beginning of value");
            return null;
        }
        record(ex, body);
        return body;
    }

    private boolean authorized(HttpExchange ex) throws IOException {
        if (token == null || ("Bearer " + token).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            return true;
        }
        sendError(ex, 401, "unauthorized");
        return false;
    }

    private static boolean method(HttpExchange ex, String method) throws IOException {
        if (method.equals(ex.getRequestMethod())) {
            return true;
        }
        sendError(ex, 405, "405 method not allowed");
        return false;
    }

    private boolean known(String model) {
        return knownIn(chatModels, model) || knownIn(embeddingModels, model);
    }

    /** Ollama resolves a name without a tag to {@code :latest}. */
    private static boolean knownIn(List<String> models, String name) {
        String full = name.contains(":") ? name : name + ":latest";
        return models.contains(name) || models.contains(full);
    }

    private static void sendError(HttpExchange ex, int status, String message) throws IOException {
        sendJson(ex, status, JSON.createObjectNode().put("error", message));
    }

    private static void sendJson(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private void record(HttpExchange ex, JsonNode body) {
        Map<String, List<String>> headers = new HashMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        requests.add(new RecordedRequest(ex.getRequestMethod(), ex.getRequestURI().getPath(), headers, body));
    }

    /** Words, each with the whitespace before it, so that the pieces join back to the text. */
    static List<String> pieces(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        return Arrays.asList(text.split("(?<=\\S)(?=\\s)"));
    }

    private static int words(String text) {
        String t = text.trim();
        return t.isEmpty() ? 0 : t.split("\\s+").length;
    }

    private static int promptWords(JsonNode body) {
        int n = 0;
        for (JsonNode m : body.path("messages")) {
            n += words(m.path("content").asText(""));
        }
        return n;
    }

    private static String lastUserText(JsonNode body) {
        String last = "";
        for (JsonNode m : body.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                last = m.path("content").asText("");
            }
        }
        return last;
    }

    /** Names of the models /api/tags lists. */
    public Set<String> listedModels() {
        Set<String> all = new LinkedHashSet<>(chatModels);
        all.addAll(embeddingModels);
        return all;
    }

}

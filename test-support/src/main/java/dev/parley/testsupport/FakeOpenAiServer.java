package dev.parley.testsupport;

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
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback HTTP server speaking the OpenAI Chat Completions wire protocol ({@code POST /v1/chat/completions},
 * streaming and not, and {@code GET /v1/models}) and the Embeddings protocol ({@code POST /v1/embeddings}, float and
 * base64 vectors), scriptable per test.
 *
 * <p>Each chat request takes the next queued {@link Behaviour}, or the default behaviour (echo, unless set) when
 * the queue is empty. Usage numbers are deterministic: {@code prompt_tokens} is the number of words in the
 * request's messages and {@code completion_tokens} the number of content chunks of the answer; usage carries
 * {@code prompt_tokens_details.cached_tokens} ({@link Behaviour#cachedTokens}). Tool calls stream as OpenAI streams
 * them (a call's first fragment with index, id and name, then argument fragments with its index), several at once
 * with {@link Behaviour#toolCalls}. Requests OpenAI refuses before any model runs (a tool message answering no tool
 * call, a tool call left unanswered, a tool schema that is not an object, an image that is not an https or image
 * data URL, a JSON-schema format without name or schema) get its 400 with {@code param} set.
 */
public final class FakeOpenAiServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLOSE_GRACE_SECONDS = 0;

    private final HttpServer server;
    private final ExecutorService executor;
    private final String apiKey;
    private final Queue<Behaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private final AtomicInteger completedStreams = new AtomicInteger();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Behaviour defaultBehaviour = Behaviour.echo();
    private volatile Duration firstTokenDelay = Duration.ZERO;
    private volatile Duration tokenDelay = Duration.ZERO;
    private volatile List<String> models = List.of("gpt-4o-mini", "gpt-4o");
    private volatile int modelsStatus = 200;
    private final Queue<Behaviour> embeddingQueue = new ConcurrentLinkedQueue<>();
    private final Map<String, Integer> embeddingModels = new java.util.concurrent.ConcurrentHashMap<>(
            Map.of("text-embedding-3-small", 1536, "text-embedding-3-large", 3072));

    private FakeOpenAiServer(int port, String apiKey) throws IOException {
        this.apiKey = apiKey;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        this.executor = Executors.newCachedThreadPool(daemonThreads("fake-openai"));
        server.setExecutor(executor);
        server.createContext("/v1/chat/completions", this::chat);
        server.createContext("/v1/models", this::models);
        server.createContext("/v1/embeddings", this::embeddings);
        server.start();
    }

    /** Starts a server on an ephemeral loopback port that accepts any (or no) API key. */
    public static FakeOpenAiServer start() {
        return start(0, null);
    }

    /** Starts a server on an ephemeral loopback port that demands {@code Authorization: Bearer <apiKey>}. */
    public static FakeOpenAiServer start(String apiKey) {
        return start(0, apiKey);
    }

    /** Starts a server on {@code port} (0 = ephemeral); a null {@code apiKey} accepts any caller. */
    public static FakeOpenAiServer start(int port, String apiKey) {
        try {
            return new FakeOpenAiServer(port, apiKey);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start fake OpenAI server", e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** The base URL a client is configured with, e.g. {@code http://127.0.0.1:12345/v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port() + "/v1";
    }

    public URI chatCompletionsUri() {
        return URI.create(baseUrl() + "/chat/completions");
    }

    // ---- scripting -------------------------------------------------------------------------------------------

    /** Queues a behaviour for the next request that finds the queue non-empty. */
    public Behaviour enqueue(Behaviour behaviour) {
        queue.add(behaviour);
        return behaviour;
    }

    /** Queues an answer with {@code text}. */
    public Behaviour reply(String text) {
        return enqueue(Behaviour.reply(text));
    }

    /** Queues an HTTP error answer with the OpenAI error object for {@code status}. */
    public Behaviour failWith(int status) {
        return enqueue(Behaviour.fail(status));
    }

    /** Queues a 429 answer with {@code Retry-After: retryAfterSeconds}. */
    public Behaviour rateLimit(long retryAfterSeconds) {
        return enqueue(Behaviour.rateLimit(retryAfterSeconds));
    }

    /** Queues an answer with one tool call. */
    public Behaviour toolCall(String id, String name, String argumentsJson) {
        return enqueue(Behaviour.toolCall(id, name, argumentsJson));
    }

    /** Queues an echo answer whose stream is dropped after {@code n} content chunks. */
    public Behaviour cutStreamAfter(int n) {
        return enqueue(Behaviour.echo().cutStreamAfter(n));
    }

    /** Queues an echo answer with a non-JSON frame after {@code n} content chunks. */
    public Behaviour malformedChunkAfter(int n) {
        return enqueue(Behaviour.echo().malformedChunkAfter(n));
    }

    /** Serves {@code model} on {@code POST /v1/embeddings} with vectors of {@code dimensions} (at most). */
    public FakeOpenAiServer embeddingModel(String model, int dimensions) {
        embeddingModels.put(model, dimensions);
        return this;
    }

    /**
     * Makes the next {@code POST /v1/embeddings} fail: {@link Behaviour#fail(int)} or {@link Behaviour#rateLimit}
     * (other behaviours answer normally).
     */
    public Behaviour enqueueEmbeddings(Behaviour behaviour) {
        embeddingQueue.add(behaviour);
        return behaviour;
    }

    /** The vector this server returns for {@code text} at {@code dimensions}, for tests to compare against. */
    public static float[] embeddingOf(String text, int dimensions) {
        return vector(text, dimensions);
    }

    /** The embeddings requests received so far, in order. */
    public List<RecordedRequest> embeddingRequests() {
        return requests.stream().filter(r -> r.path().endsWith("/embeddings")).toList();
    }

    /** What requests get when the queue is empty (initially {@link Behaviour#echo()}). */
    public FakeOpenAiServer defaultBehaviour(Behaviour behaviour) {
        this.defaultBehaviour = behaviour;
        return this;
    }

    /** Delay before the first chunk for behaviours that set none. */
    public FakeOpenAiServer firstTokenDelay(Duration delay) {
        this.firstTokenDelay = delay;
        return this;
    }

    /** Delay between content chunks for behaviours that set none. */
    public FakeOpenAiServer tokenDelay(Duration delay) {
        this.tokenDelay = delay;
        return this;
    }

    /** The model ids {@code GET /v1/models} lists. */
    public FakeOpenAiServer models(String... ids) {
        this.models = List.of(ids);
        return this;
    }

    /** Makes {@code GET /v1/models} answer with this status (200 = list the models). */
    public FakeOpenAiServer modelsStatus(int status) {
        this.modelsStatus = status;
        return this;
    }

    // ---- observing -------------------------------------------------------------------------------------------

    /** Every request received so far, in order (chat and models). */
    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** The chat-completions requests received so far, in order. */
    public List<RecordedRequest> chatRequests() {
        return requests.stream().filter(r -> r.path().endsWith("/chat/completions")).toList();
    }

    /** The last chat-completions request, or null. */
    public RecordedRequest lastChatRequest() {
        List<RecordedRequest> chat = chatRequests();
        return chat.isEmpty() ? null : chat.get(chat.size() - 1);
    }

    /** Chat requests being answered right now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** The most chat requests answered at the same time so far. */
    public int maxInFlight() {
        return maxInFlight.get();
    }

    /** Streams that reached {@code [DONE]}. */
    public int completedStreams() {
        return completedStreams.get();
    }

    /** Streams that ended because the client went away while the server was still writing. */
    public int abortedByClient() {
        return abortedByClient.get();
    }

    /** Stops the server; calling it again is harmless. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        server.stop(CLOSE_GRACE_SECONDS);
        executor.shutdownNow();
    }

    // ---- protocol ----------------------------------------------------------------------------------------------

    private void models(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex, MissingNode.getInstance());
            if (!authorized(ex)) {
                sendError(ex, 401, null, null);
                return;
            }
            if (!"GET".equals(ex.getRequestMethod())) {
                sendError(ex, 405, null, null);
                return;
            }
            if (modelsStatus != 200) {
                sendError(ex, modelsStatus, null, null);
                return;
            }
            ObjectNode list = JSON.createObjectNode().put("object", "list");
            ArrayNode data = list.putArray("data");
            for (String id : models) {
                data.addObject().put("id", id).put("object", "model").put("created", 1_700_000_000L)
                        .put("owned_by", "parley-fake");
            }
            sendJson(ex, 200, list);
        }
    }

    private void chat(HttpExchange ex) throws IOException {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        boolean closeExchange = true;
        try {
            byte[] raw = ex.getRequestBody().readAllBytes();
            JsonNode body;
            try {
                body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                record(ex, MissingNode.getInstance());
                sendError(ex, 400, "We could not parse the JSON body of your request.", null);
                return;
            }
            record(ex, body);
            if (!authorized(ex)) {
                sendError(ex, 401, null, null);
                return;
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                sendError(ex, 405, null, null);
                return;
            }
            String[] refused = protocolError(body);
            if (refused != null) {
                sendError(ex, 400, refused[0], null, refused[1]);
                return;
            }
            Behaviour b = queue.poll();
            if (b == null) {
                b = defaultBehaviour;
            }
            String model = body.path("model").asText("gpt-4o-mini");
            switch (b.kind) {
                case FAIL -> sendError(ex, b.status, b.errorMessage, model);
                case RATE_LIMIT -> {
                    ex.getResponseHeaders().set("Retry-After", Long.toString(b.retryAfterSeconds));
                    ex.getResponseHeaders().set("x-ratelimit-reset-requests", b.retryAfterSeconds + "s");
                    sendError(ex, 429, b.errorMessage, model);
                }
                default -> {
                    Answer answer = answerFor(b, body);
                    if (body.path("stream").asBoolean(false) || b.streamRegardless) {
                        closeExchange = stream(ex, b, answer, model, promptWords(body),
                                body.path("stream_options").path("include_usage").asBoolean(false));
                    } else {
                        complete(ex, b, answer, model, promptWords(body));
                    }
                }
            }
        } catch (StreamCut cut) {
            // Closing the exchange would send the terminating chunk; escaping the handler makes HttpServer drop
            // the connection instead, which is what a client sees when an upstream dies mid-stream.
            closeExchange = false;
            throw cut;
        } finally {
            inFlight.decrementAndGet();
            if (closeExchange) {
                ex.close();
            }
        }
    }

    /**
     * What OpenAI refuses with a 400 before any model runs, in its words: tool messages that answer no earlier
     * tool call, tool calls left unanswered, tool parameters that are not a JSON object, image parts that are not an
     * {@code https} or image {@code data:} URL, a JSON-schema response format without its name or schema.
     *
     * @return {message, param}, or null when the request is acceptable
     */
    private static String[] protocolError(JsonNode body) {
        JsonNode messages = body.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            return new String[] {"'messages' must contain at least one message.", "messages"};
        }
        java.util.Set<String> open = new java.util.LinkedHashSet<>();
        int openedAt = -1;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String role = m.path("role").asText();
            if (!"tool".equals(role) && !open.isEmpty()) {
                return new String[] {"An assistant message with 'tool_calls' must be followed by tool messages "
                        + "responding to each 'tool_call_id'. The following tool_call_ids did not have response "
                        + "messages: " + String.join(", ", open), "messages.[" + openedAt + "].role"};
            }
            switch (role) {
                case "assistant" -> {
                    for (JsonNode call : m.path("tool_calls")) {
                        open.add(call.path("id").asText());
                        openedAt = i;
                    }
                }
                case "tool" -> {
                    if (!open.remove(m.path("tool_call_id").asText())) {
                        return new String[] {"Invalid parameter: messages with role 'tool' must be a response to a "
                                + "preceeding message with 'tool_calls'.", "messages.[" + i + "].role"};
                    }
                }
                case "user" -> {
                    for (JsonNode part : m.path("content")) {
                        if (!"image_url".equals(part.path("type").asText())) {
                            continue;
                        }
                        String url = part.path("image_url").path("url").asText();
                        if (!url.startsWith("https://") && !url.startsWith("http://")
                                && !url.matches("data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+")) {
                            return new String[] {"Invalid image URL: expected an https URL or a base64 data URL of "
                                    + "a png, jpeg, gif or webp image.", "messages.[" + i + "].content"};
                        }
                    }
                }
                default -> {
                }
            }
        }
        int t = 0;
        for (JsonNode tool : body.path("tools")) {
            JsonNode parameters = tool.path("function").path("parameters");
            if (!parameters.isMissingNode() && !parameters.isObject()) {
                return new String[] {"Invalid schema for function '" + tool.path("function").path("name").asText()
                        + "': schema must be a JSON Schema of 'type: \"object\"'.", "tools[" + t + "].function.parameters"};
            }
            t++;
        }
        JsonNode format = body.path("response_format");
        if ("json_schema".equals(format.path("type").asText())) {
            if (!format.path("json_schema").path("name").isTextual()) {
                return new String[] {"Missing required parameter: 'response_format.json_schema.name'.",
                        "response_format.json_schema.name"};
            }
            if (!format.path("json_schema").path("schema").isObject()) {
                return new String[] {"Invalid type for 'response_format.json_schema.schema': expected an object.",
                        "response_format.json_schema.schema"};
            }
        }
        return null;
    }

    // ---- embeddings ----------------------------------------------------------------------------------------------

    private void embeddings(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] raw = ex.getRequestBody().readAllBytes();
            JsonNode body;
            try {
                body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                record(ex, MissingNode.getInstance());
                sendError(ex, 400, "We could not parse the JSON body of your request.", null);
                return;
            }
            record(ex, body);
            if (!authorized(ex)) {
                sendError(ex, 401, null, null);
                return;
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                sendError(ex, 405, null, null);
                return;
            }
            Behaviour b = embeddingQueue.poll();
            if (b != null && b.kind == Behaviour.Kind.FAIL) {
                sendError(ex, b.status, b.errorMessage, body.path("model").asText(null));
                return;
            }
            if (b != null && b.kind == Behaviour.Kind.RATE_LIMIT) {
                ex.getResponseHeaders().set("Retry-After", Long.toString(b.retryAfterSeconds));
                sendError(ex, 429, b.errorMessage, null);
                return;
            }
            String model = body.path("model").asText("");
            Integer dims = embeddingModels.get(model);
            if (dims == null) {
                sendError(ex, 404, null, model);
                return;
            }
            String invalidInput = "'$.input' is invalid. Please check the API reference: "
                    + "https://platform.openai.com/docs/api-reference.";
            JsonNode input = body.path("input");
            List<String> inputs = new ArrayList<>();
            if (input.isTextual()) {
                inputs.add(input.asText());
            } else if (input.isArray() && !input.isEmpty()) {
                for (JsonNode e : input) {
                    if (!e.isTextual()) {
                        sendError(ex, 400, invalidInput, null, "input");
                        return;
                    }
                    inputs.add(e.asText());
                }
            } else {
                sendError(ex, 400, invalidInput, null, "input");
                return;
            }
            if (inputs.size() > 2048) {
                sendError(ex, 400, "'$.input' is too long: at most 2048 inputs per request.", null, "input");
                return;
            }
            int dimensions = dims;
            if (body.has("dimensions")) {
                dimensions = body.path("dimensions").asInt();
                if (dimensions <= 0 || dimensions > dims) {
                    sendError(ex, 400, "Invalid value for 'dimensions': must be between 1 and " + dims + ".", null,
                            "dimensions");
                    return;
                }
            }
            String format = body.path("encoding_format").asText("float");
            ObjectNode root = JSON.createObjectNode().put("object", "list");
            ArrayNode data = root.putArray("data");
            int tokens = 0;
            for (int i = 0; i < inputs.size(); i++) {
                float[] v = vector(inputs.get(i), dimensions);
                String text = inputs.get(i).trim();
                tokens += text.isEmpty() ? 0 : text.split("\\s+").length;
                ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
                if ("base64".equals(format)) {
                    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(v.length * 4)
                            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    for (float f : v) {
                        buf.putFloat(f);
                    }
                    item.put("embedding", java.util.Base64.getEncoder().encodeToString(buf.array()));
                } else {
                    ArrayNode arr = item.putArray("embedding");
                    for (float f : v) {
                        arr.add(f);
                    }
                }
            }
            root.put("model", model);
            root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
            sendJson(ex, 200, root);
        }
    }

    /** The fake's embedding of {@code text}: deterministic and of unit length; see {@link #embeddingOf}. */
    private static float[] vector(String text, int dimensions) {
        java.util.Random r = new java.util.Random(text.hashCode());
        float[] v = new float[dimensions];
        double norm = 0;
        for (int i = 0; i < dimensions; i++) {
            v[i] = (float) r.nextGaussian();
            norm += v[i] * v[i];
        }
        float scale = (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < dimensions; i++) {
            v[i] *= scale;
        }
        return v;
    }

    /**
     * The text pieces (or tool-call argument pieces) an answer is sent in; {@code callOf} tells, for a tool-call
     * answer, which call each piece belongs to.
     */
    private record Answer(List<String> chunks, List<Integer> callOf, List<Behaviour.Call> calls, List<String> textBefore) {
        Answer(List<String> chunks, List<Integer> callOf, List<Behaviour.Call> calls) {
            this(chunks, callOf, calls, List.of());
        }

        boolean toolCall() {
            return !calls.isEmpty();
        }

        String arguments(int call) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < chunks.size(); i++) {
                if (callOf.get(i) == call) {
                    sb.append(chunks.get(i));
                }
            }
            return sb.toString();
        }
    }

    private static Answer answerFor(Behaviour b, JsonNode body) {
        return switch (b.kind) {
            case REPLY -> new Answer(words(b.text), List.of(), List.of());
            case ECHO -> new Answer(words("echo: " + lastUserText(body)), List.of(), List.of());
            case TOOL_CALL -> {
                List<String> pieces = new ArrayList<>();
                List<Integer> callOf = new ArrayList<>();
                for (int i = 0; i < b.calls.size(); i++) {
                    String arguments = b.calls.get(i).argumentsJson();
                    for (String piece : b.argumentPieceChars > 0 ? pieces(arguments, b.argumentPieceChars) : halves(arguments)) {
                        pieces.add(piece);
                        callOf.add(i);
                    }
                }
                yield new Answer(pieces, callOf, b.calls, b.textBeforeCalls == null ? List.of() : words(b.textBeforeCalls));
            }
            default -> throw new IllegalStateException(b.kind.name());
        };
    }

    private static ObjectNode callHeader(ArrayNode calls, int index, Behaviour.Call call, boolean indexed) {
        ObjectNode node = calls.addObject();
        if (indexed) {
            node.put("index", index);
        }
        node.put("id", call.id()).put("type", "function");
        return node;
    }

    private void complete(HttpExchange ex, Behaviour b, Answer answer, String model, int promptTokens)
            throws IOException {
        // A real model generates the whole answer before a non-streamed reply is sent: take as long as the stream would.
        Duration tokenPause = delay(b.tokenDelay, tokenDelay);
        pause(delay(b.firstTokenDelay, firstTokenDelay).plus(tokenPause.multipliedBy(Math.max(0, answer.chunks().size() - 1))));
        ObjectNode root = JSON.createObjectNode()
                .put("id", nextId())
                .put("object", "chat.completion")
                .put("created", System.currentTimeMillis() / 1000)
                .put("model", model)
                .put("system_fingerprint", "fp_parley_fake");
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        ObjectNode message = choice.putObject("message").put("role", "assistant");
        String joined = String.join("", answer.chunks());
        if (answer.toolCall()) {
            if (answer.textBefore().isEmpty()) {
                message.putNull("content");
            } else {
                message.put("content", String.join("", answer.textBefore()));
            }
            ArrayNode calls = message.putArray("tool_calls");
            for (int i = 0; i < answer.calls().size(); i++) {
                Behaviour.Call c = answer.calls().get(i);
                callHeader(calls, i, c, false).putObject("function").put("name", c.name())
                        .put("arguments", answer.arguments(i));
            }
        } else {
            message.put("content", joined);
        }
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", b.finishReason);
        putUsage(root, promptTokens, answer.chunks().size(), b.cachedTokens);
        if (b.malformedAfter >= 0) {
            // A 200 whose body is not JSON, as a broken proxy or server sends.
            byte[] broken = "{\"id\":\"x\",\"choices\":[{not json".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, broken.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(broken);
            }
            return;
        }
        if (b.cutAfter >= 0) {
            // Announce the whole body, send half of it, drop the connection.
            byte[] bytes = JSON.writeValueAsBytes(root);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, bytes.length);
            OutputStream out = ex.getResponseBody();
            out.write(bytes, 0, bytes.length / 2);
            out.flush();
            cut();
        }
        sendJson(ex, 200, root);
    }

    /** Streams the answer as server-sent events; returns false when the exchange must not be closed cleanly. */
    private boolean stream(HttpExchange ex, Behaviour b, Answer answer, String model, int promptTokens,
            boolean includeUsage) throws IOException {
        String id = nextId();
        long created = System.currentTimeMillis() / 1000;
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        if (b.headersDelay != null) {
            pause(b.headersDelay);
        }
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        Duration tokenPause = delay(b.tokenDelay, tokenDelay);
        try {
            pause(delay(b.firstTokenDelay, firstTokenDelay));
            ObjectNode first = JSON.createObjectNode().put("role", "assistant");
            boolean firstCallInFirstChunk = answer.toolCall() && answer.textBefore().isEmpty();
            if (firstCallInFirstChunk) {
                first.putNull("content");
                Behaviour.Call c = answer.calls().get(0);
                callHeader(first.putArray("tool_calls"), 0, c, true).putObject("function").put("name", c.name())
                        .put("arguments", "");
            } else {
                first.put("content", "");
            }
            frame(out, chunk(id, created, model, first, null, includeUsage));
            for (String piece : answer.textBefore()) {
                pause(tokenPause);
                frame(out, chunk(id, created, model, JSON.createObjectNode().put("content", piece), null, includeUsage));
            }
            int sent = 0;
            for (String piece : answer.chunks()) {
                if (sent == b.cutAfter) {
                    cut();
                }
                if (sent == b.malformedAfter) {
                    out.write("data: {not json\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
                if (sent > 0) {
                    pause(tokenPause);
                }
                ObjectNode delta = JSON.createObjectNode();
                if (answer.toolCall()) {
                    int call = answer.callOf().get(sent);
                    if (sent == 0 ? !firstCallInFirstChunk : answer.callOf().get(sent - 1) != call) {
                        // A call not started in the first chunk (a further parallel call, or any after text) starts with a
                        // chunk of its own: index, id, type, name.
                        Behaviour.Call c = answer.calls().get(call);
                        ObjectNode header = JSON.createObjectNode();
                        callHeader(header.putArray("tool_calls"), call, c, true).putObject("function")
                                .put("name", c.name()).put("arguments", "");
                        frame(out, chunk(id, created, model, header, null, includeUsage));
                    }
                    delta.putArray("tool_calls").addObject().put("index", call)
                            .putObject("function").put("arguments", piece);
                } else {
                    delta.put("content", piece);
                }
                frame(out, chunk(id, created, model, delta, null, includeUsage));
                sent++;
            }
            if (sent == b.cutAfter) {
                cut();
            }
            frame(out, chunk(id, created, model, JSON.createObjectNode(), b.finishReason, includeUsage));
            if (includeUsage) {
                ObjectNode usage = JSON.createObjectNode()
                        .put("id", id).put("object", "chat.completion.chunk").put("created", created)
                        .put("model", model).put("system_fingerprint", "fp_parley_fake");
                usage.putArray("choices");
                putUsage(usage, promptTokens, sent, b.cachedTokens);
                frame(out, usage);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            completedStreams.incrementAndGet();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    /**
     * Drops the connection. The pause first lets the client read what was sent: the JDK client may report a reset
     * connection before handing over bytes it already buffered, which would make "n chunks, then cut" racy.
     */

    private static ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finishReason,
            boolean includeUsage) {
        ObjectNode root = JSON.createObjectNode()
                .put("id", id).put("object", "chat.completion.chunk").put("created", created)
                .put("model", model).put("system_fingerprint", "fp_parley_fake");
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        choice.set("delta", delta);
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        if (includeUsage) {
            root.putNull("usage");
        }
        return root;
    }

    private static void frame(OutputStream out, JsonNode node) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** OpenAI's usage object, with the details it always sends (cached prompt tokens, reasoning tokens). */
    private static void putUsage(ObjectNode root, int prompt, int completion, int cached) {
        ObjectNode usage = root.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
        usage.putObject("prompt_tokens_details").put("cached_tokens", Math.min(cached, prompt)).put("audio_tokens", 0);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0)
                .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
    }

    private void sendError(HttpExchange ex, int status, String message, String model) throws IOException {
        sendError(ex, status, message, model, null);
    }

    private void sendError(HttpExchange ex, int status, String message, String model, String param) throws IOException {
        String type;
        String code;
        String defaultMessage;
        switch (status) {
            case 400 -> { type = "invalid_request_error"; code = null; defaultMessage = "Invalid request."; }
            case 401 -> {
                type = "invalid_request_error";
                code = "invalid_api_key";
                defaultMessage = "Incorrect API key provided. You can find your API key at "
                        + "https://platform.openai.com/account/api-keys.";
            }
            case 403 -> {
                type = "request_forbidden";
                code = "unsupported_country_region_territory";
                defaultMessage = "Country, region, or territory not supported";
            }
            case 404 -> {
                type = "invalid_request_error";
                code = "model_not_found";
                defaultMessage = "The model `" + (model == null ? "unknown" : model)
                        + "` does not exist or you do not have access to it.";
            }
            case 405 -> { type = "invalid_request_error"; code = null; defaultMessage = "Method not allowed."; }
            case 429 -> {
                type = "requests";
                code = "rate_limit_exceeded";
                defaultMessage = "Rate limit reached for requests. Please try again later.";
            }
            case 503 -> {
                type = "server_error";
                code = null;
                defaultMessage = "The engine is currently overloaded, please try again later";
            }
            default -> {
                type = status >= 500 ? "server_error" : "invalid_request_error";
                code = null;
                defaultMessage = status >= 500
                        ? "The server had an error while processing your request. Sorry about that!"
                        : "Request failed with status " + status + ".";
            }
        }
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error")
                .put("message", message == null ? defaultMessage : message)
                .put("type", type);
        if (param == null) {
            error.putNull("param");
        } else {
            error.put("param", param);
        }
        if (code == null) {
            error.putNull("code");
        } else {
            error.put("code", code);
        }
        sendJson(ex, status, root);
    }

    private static void sendJson(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private boolean authorized(HttpExchange ex) {
        return apiKey == null || ("Bearer " + apiKey).equals(ex.getRequestHeaders().getFirst("Authorization"));
    }

    private void record(HttpExchange ex, JsonNode body) {
        Map<String, List<String>> headers = new HashMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        requests.add(new RecordedRequest(ex.getRequestMethod(), ex.getRequestURI().getPath(), headers, body));
    }

    private String nextId() {
        return "chatcmpl-fake" + ids.incrementAndGet();
    }

    private static Duration delay(Duration own, Duration serverWide) {
        return own != null ? own : serverWide;
    }

    static List<String> words(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        // Each piece keeps its leading whitespace, so the pieces concatenate back to the text.
        return Arrays.asList(text.split("(?<=\\S)(?=\\s)"));
    }

    private static List<String> pieces(String s, int chars) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s.length(); i += chars) {
            out.add(s.substring(i, Math.min(s.length(), i + chars)));
        }
        return out.isEmpty() ? List.of("") : out;
    }

    private static List<String> halves(String s) {
        if (s.length() < 2) {
            return List.of(s);
        }
        int mid = s.length() / 2;
        return List.of(s.substring(0, mid), s.substring(mid));
    }

    private static int promptWords(JsonNode body) {
        int n = 0;
        for (JsonNode m : body.path("messages")) {
            String text = text(m.path("content")).trim();
            if (!text.isEmpty()) {
                n += text.split("\\s+").length;
            }
        }
        return n;
    }

    private static String lastUserText(JsonNode body) {
        String last = "";
        for (JsonNode m : body.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                last = text(m.path("content"));
            }
        }
        return last;
    }

    /** Message content is either a string or an array of typed parts. */
    private static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            if ("text".equals(part.path("type").asText())) {
                sb.append(part.path("text").asText());
            }
        }
        return sb.toString();
    }

    /**
     * Runs the server as a standalone process for benchmarks:
     * {@code --port N --token-delay-ms N --first-token-delay-ms N --words N --api-key K}.
     */
    public static void main(String[] args) throws InterruptedException {
        int port = 8089;
        long tokenDelayMs = 20;
        long firstTokenDelayMs = 200;
        int words = 50;
        String key = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--token-delay-ms" -> tokenDelayMs = Long.parseLong(args[i + 1]);
                case "--first-token-delay-ms" -> firstTokenDelayMs = Long.parseLong(args[i + 1]);
                case "--words" -> words = Integer.parseInt(args[i + 1]);
                case "--api-key" -> key = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> text = new ArrayList<>();
        for (int i = 1; i <= words; i++) {
            text.add("word" + i);
        }
        FakeOpenAiServer server = start(port, key)
                .defaultBehaviour(Behaviour.reply(String.join(" ", text)))
                .firstTokenDelay(Duration.ofMillis(firstTokenDelayMs))
                .tokenDelay(Duration.ofMillis(tokenDelayMs));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "fake-openai-shutdown"));
        System.out.println("fake OpenAI server listening on " + server.baseUrl());
        stopped.await();
    }
}

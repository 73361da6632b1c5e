package dev.parley.testsupport.gemini;

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
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback HTTP server speaking the Google Gemini API ({@code generativelanguage.googleapis.com}, version
 * {@code v1beta}) as documented at ai.google.dev/api, scriptable per test:
 * <ul>
 * <li>{@code POST /v1beta/models/{model}:generateContent} and {@code :streamGenerateContent?alt=sse} ("Generating
 * content": a {@code GenerateContentResponse}; streamed as server-sent events, one {@code data:} line of
 * {@code GenerateContentResponse} JSON per event, each with {@code usageMetadata} and {@code modelVersion}, the last
 * candidate with its {@code finishReason}; function calls as {@code functionCall} parts, without ids; a blocked prompt
 * as a 200 with {@code promptFeedback.blockReason} and no candidate);</li>
 * <li>{@code POST /v1beta/models/{model}:batchEmbedContents} and {@code :embedContent} ("Embeddings", with
 * {@code outputDimensionality});</li>
 * <li>{@code GET /v1beta/models} and {@code GET /v1beta/models/{model}} ("Models": {@code name}, {@code
 * inputTokenLimit}, {@code outputTokenLimit}, {@code supportedGenerationMethods}, paged by {@code pageSize} /
 * {@code pageToken});</li>
 * <li>errors as {@code google.rpc.Status} JSON ("Troubleshooting / API errors": 400 {@code INVALID_ARGUMENT} (with
 * an {@code ErrorInfo} reason {@code API_KEY_INVALID} for a bad key), 403 {@code PERMISSION_DENIED}, 404
 * {@code NOT_FOUND}, 429 {@code RESOURCE_EXHAUSTED} with {@code RetryInfo.retryDelay}, 500 {@code INTERNAL}, 503
 * {@code UNAVAILABLE}, 504 {@code DEADLINE_EXCEEDED}).</li>
 * </ul>
 * The key is checked in the {@code x-goog-api-key} header (or the {@code key} query parameter): a wrong key gets
 * 400 {@code API_KEY_INVALID}, a missing one 403 {@code PERMISSION_DENIED}, as the API answers.
 *
 * <p>Usage numbers are deterministic: {@code promptTokenCount} is the number of words in the request's text parts
 * (system instruction included), {@code candidatesTokenCount} the number of answer pieces, and
 * {@code cachedContentTokenCount} and {@code thoughtsTokenCount} whatever {@link #cachedTokens} and {@link #thoughtsTokens}
 * set (left out when 0, as the API does).
 */
public final class FakeGeminiServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MODEL_CALL = Pattern.compile("/v1beta/models/([^/:]+):([A-Za-z]+)");
    private static final Pattern MODEL_GET = Pattern.compile("/v1beta/models/([^/:]+)");

    /** A model {@code GET /v1beta/models} lists. */
    public record Model(String id, int inputTokenLimit, int outputTokenLimit, List<String> methods) {
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final String apiKey;
    private final Queue<GeminiBehaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger completedStreams = new AtomicInteger();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile GeminiBehaviour defaultBehaviour = GeminiBehaviour.echo();
    private volatile int cachedTokens;
    private volatile int thoughtsTokens;
    private volatile List<Model> models = List.of(
            new Model("gemini-2.5-flash", 1_048_576, 65_536, List.of("generateContent", "countTokens")),
            new Model("gemini-2.5-pro", 1_048_576, 65_536, List.of("generateContent", "countTokens")),
            new Model("gemini-embedding-001", 2048, 1, List.of("embedContent")));
    private volatile int embeddingDimensions = 3072;

    private FakeGeminiServer(String apiKey) throws IOException {
        this.apiKey = apiKey;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        this.executor = Executors.newCachedThreadPool(daemonThreads("fake-gemini"));
        server.setExecutor(executor);
        server.createContext("/v1beta/models", this::handle);
        server.start();
    }

    /** Starts a server on an ephemeral loopback port that demands {@code apiKey}. */
    public static FakeGeminiServer start(String apiKey) {
        try {
            return new FakeGeminiServer(java.util.Objects.requireNonNull(apiKey, "apiKey"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot start fake Gemini server", e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** The base URL a client is configured with: {@code http://127.0.0.1:<port>/v1beta}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port() + "/v1beta";
    }

    // ---- scripting -------------------------------------------------------------------------------------------

    /** Queues a behaviour for the next generate request. */
    public GeminiBehaviour enqueue(GeminiBehaviour behaviour) {
        queue.add(behaviour);
        return behaviour;
    }

    /** What generate requests get when the queue is empty (initially {@link GeminiBehaviour#echo()}). */
    public FakeGeminiServer defaultBehaviour(GeminiBehaviour behaviour) {
        this.defaultBehaviour = behaviour;
        return this;
    }

    /** The {@code cachedContentTokenCount} answers report (0: left out). */
    public FakeGeminiServer cachedTokens(int n) {
        this.cachedTokens = n;
        return this;
    }

    /** The {@code thoughtsTokenCount} the last event of an answer reports (0: left out), as thinking models do. */
    public FakeGeminiServer thoughtsTokens(int n) {
        this.thoughtsTokens = n;
        return this;
    }

    /** The models {@code GET /v1beta/models} lists. */
    public FakeGeminiServer models(Model... models) {
        this.models = List.of(models);
        return this;
    }

    /** The length of embedding vectors when the request names no {@code outputDimensionality}. */
    public FakeGeminiServer embeddingDimensions(int n) {
        this.embeddingDimensions = n;
        return this;
    }

    // ---- observing -------------------------------------------------------------------------------------------

    /** Every request received so far, in order. The path keeps the query, e.g. {@code ...:streamGenerateContent?alt=sse}. */
    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** The generate requests (streamed or not) received so far, in order. */
    public List<RecordedRequest> generateRequests() {
        return requests.stream().filter(r -> r.path().contains("enerateContent")).toList();
    }

    /** The last generate request, or null. */
    public RecordedRequest lastGenerateRequest() {
        List<RecordedRequest> all = generateRequests();
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Streams that sent their last event. */
    public int completedStreams() {
        return completedStreams.get();
    }

    /** Streams that ended because the client went away while the server was still writing. */
    public int abortedByClient() {
        return abortedByClient.get();
    }

    /** Generate requests being answered now. */
    public int inFlight() {
        return inFlight.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    // ---- protocol ----------------------------------------------------------------------------------------------

    private void handle(HttpExchange ex) throws IOException {
        boolean closeExchange = true;
        inFlight.incrementAndGet();
        try {
            byte[] raw = ex.getRequestBody().readAllBytes();
            JsonNode body;
            try {
                body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                record(ex, MissingNode.getInstance());
                sendStatus(ex, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.", null, null);
                return;
            }
            record(ex, body);
            if (!authorized(ex)) {
                return;
            }
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            Matcher call = MODEL_CALL.matcher(path);
            if ("GET".equals(method) && "/v1beta/models".equals(path)) {
                listModels(ex);
            } else if ("GET".equals(method) && MODEL_GET.matcher(path).matches()) {
                Matcher m = MODEL_GET.matcher(path);
                m.matches();
                getModel(ex, m.group(1));
            } else if ("POST".equals(method) && call.matches()) {
                String model = call.group(1);
                switch (call.group(2)) {
                    case "generateContent" -> closeExchange = generate(ex, model, body, false);
                    case "streamGenerateContent" -> {
                        if (!"alt=sse".equals(ex.getRequestURI().getQuery())) {
                            // Without alt=sse the API streams a JSON array; this fake speaks only the SSE form.
                            sendStatus(ex, 400, "INVALID_ARGUMENT", "this fake server streams only with alt=sse",
                                    null, null);
                        } else {
                            closeExchange = generate(ex, model, body, true);
                        }
                    }
                    case "batchEmbedContents" -> batchEmbed(ex, model, body);
                    case "embedContent" -> embedOne(ex, model, body);
                    default -> sendStatus(ex, 404, "NOT_FOUND", "Method not found.", null, null);
                }
            } else {
                sendStatus(ex, 404, "NOT_FOUND", "Method not found.", null, null);
            }
        } catch (StreamCut cut) {
            // Escaping the handler makes HttpServer drop the connection without the terminating chunk.
            closeExchange = false;
            throw cut;
        } finally {
            inFlight.decrementAndGet();
            if (closeExchange) {
                ex.close();
            }
        }
    }

    private boolean authorized(HttpExchange ex) throws IOException {
        String key = ex.getRequestHeaders().getFirst("x-goog-api-key");
        if (key == null) {
            key = query(ex).get("key");
        }
        if (key == null) {
            sendStatus(ex, 403, "PERMISSION_DENIED",
                    "Method doesn't allow unregistered callers (callers without established identity). "
                            + "Please use API Key or other form of API consumer identity to call this API.",
                    null, null);
            return false;
        }
        if (!apiKey.equals(key)) {
            sendStatus(ex, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                    "API_KEY_INVALID", null);
            return false;
        }
        return true;
    }

    private Model model(String id) {
        return models.stream().filter(m -> m.id().equals(id)).findFirst().orElse(null);
    }

    private void listModels(HttpExchange ex) throws IOException {
        Map<String, String> q = query(ex);
        int pageSize = q.containsKey("pageSize") ? Integer.parseInt(q.get("pageSize")) : 50;
        int from = q.containsKey("pageToken") ? Integer.parseInt(q.get("pageToken")) : 0;
        List<Model> all = models;
        ObjectNode root = JSON.createObjectNode();
        ArrayNode list = root.putArray("models");
        int to = Math.min(all.size(), from + pageSize);
        for (Model m : all.subList(Math.min(from, all.size()), to)) {
            list.add(modelJson(m));
        }
        if (to < all.size()) {
            root.put("nextPageToken", Integer.toString(to));
        }
        sendJson(ex, 200, root);
    }

    private void getModel(HttpExchange ex, String id) throws IOException {
        Model m = model(id);
        if (m == null) {
            sendStatus(ex, 404, "NOT_FOUND", "models/" + id + " is not found for API version v1beta", null, null);
            return;
        }
        sendJson(ex, 200, modelJson(m));
    }

    private static ObjectNode modelJson(Model m) {
        ObjectNode n = JSON.createObjectNode()
                .put("name", "models/" + m.id()).put("version", "001")
                .put("displayName", m.id().replace('-', ' ')).put("description", "fake " + m.id())
                .put("inputTokenLimit", m.inputTokenLimit()).put("outputTokenLimit", m.outputTokenLimit());
        ArrayNode methods = n.putArray("supportedGenerationMethods");
        m.methods().forEach(methods::add);
        if (m.methods().contains("generateContent")) {
            n.put("temperature", 1.0).put("topP", 0.95).put("topK", 64).put("maxTemperature", 2.0);
        }
        return n;
    }

    /** Returns false when the exchange must not be closed cleanly. */
    private boolean generate(HttpExchange ex, String modelId, JsonNode body, boolean stream) throws IOException {
        if (model(modelId) == null) {
            sendStatus(ex, 404, "NOT_FOUND", "models/" + modelId + " is not found for API version v1beta, or is "
                    + "not supported for generateContent. Call ListModels to see the list of available models and "
                    + "their supported methods.", null, null);
            return true;
        }
        if (!body.path("contents").isArray() || body.path("contents").isEmpty()) {
            sendStatus(ex, 400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified",
                    null, null);
            return true;
        }
        GeminiBehaviour b = queue.poll();
        if (b == null) {
            b = defaultBehaviour;
        }
        if (b.kind == GeminiBehaviour.Kind.FAIL) {
            sendStatus(ex, b.status, b.statusName, b.message, b.errorReason, b.retryDelay);
            return true;
        }
        int promptTokens = promptWords(body);
        if (b.kind == GeminiBehaviour.Kind.BLOCK) {
            ObjectNode root = JSON.createObjectNode();
            ObjectNode feedback = root.putObject("promptFeedback").put("blockReason", b.blockReason);
            feedback.putArray("safetyRatings").addObject().put("category", "HARM_CATEGORY_DANGEROUS_CONTENT")
                    .put("probability", "HIGH").put("blocked", true);
            root.putObject("usageMetadata").put("promptTokenCount", promptTokens).put("totalTokenCount", promptTokens);
            root.put("modelVersion", modelId);
            if (stream) {
                startStream(ex);
                OutputStream out = ex.getResponseBody();
                frame(out, root);
                completedStreams.incrementAndGet();
            } else {
                sendJson(ex, 200, root);
            }
            return true;
        }
        List<ObjectNode> pieces = pieces(b, body);
        return stream ? stream(ex, b, pieces, modelId, promptTokens) : whole(ex, b, pieces, modelId, promptTokens);
    }

    /** The answer's parts in the order they are sent: one text part per word, or all function calls at once. */
    private static List<ObjectNode> pieces(GeminiBehaviour b, JsonNode body) throws IOException {
        List<ObjectNode> parts = new ArrayList<>();
        switch (b.kind) {
            case REPLY -> words(b.text).forEach(w -> parts.add(JSON.createObjectNode().put("text", w)));
            case ECHO -> words("echo: " + lastUserText(body))
                    .forEach(w -> parts.add(JSON.createObjectNode().put("text", w)));
            case FUNCTION_CALLS -> {
                if (b.textBeforeCalls != null) {
                    words(b.textBeforeCalls).forEach(w -> parts.add(JSON.createObjectNode().put("text", w)));
                }
                for (GeminiBehaviour.FunctionCall c : b.calls) {
                    ObjectNode part = JSON.createObjectNode();
                    part.putObject("functionCall").put("name", c.name()).set("args", JSON.readTree(c.argsJson()));
                    parts.add(part);
                }
            }
            default -> throw new IllegalStateException(b.kind.name());
        }
        return parts;
    }

    private boolean whole(HttpExchange ex, GeminiBehaviour b, List<ObjectNode> parts, String model, int promptTokens)
            throws IOException {
        pause(b.firstTokenDelay);
        // A whole answer carries its text as one part (function calls stay one part each).
        List<ObjectNode> merged = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (ObjectNode part : parts) {
            if (part.has("text")) {
                text.append(part.path("text").asText());
            } else {
                merged.add(part);
            }
        }
        if (text.length() > 0) {
            merged.add(0, JSON.createObjectNode().put("text", text.toString()));
        }
        ObjectNode root = response(merged, b.finishReason, model, promptTokens, parts.size());
        if (b.malformedAfter >= 0) {
            byte[] broken = "{\"candidates\":[{\"content\":{not json".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
            ex.sendResponseHeaders(200, broken.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(broken);
            }
            return true;
        }
        if (b.cutAfter >= 0) {
            byte[] bytes = JSON.writeValueAsBytes(root);
            ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
            ex.sendResponseHeaders(200, bytes.length);
            OutputStream out = ex.getResponseBody();
            out.write(bytes, 0, bytes.length / 2);
            out.flush();
            cut();
        }
        sendJson(ex, 200, root);
        return true;
    }

    private boolean stream(HttpExchange ex, GeminiBehaviour b, List<ObjectNode> parts, String model, int promptTokens)
            throws IOException {
        startStream(ex);
        OutputStream out = ex.getResponseBody();
        try {
            pause(b.firstTokenDelay);
            boolean calls = b.kind == GeminiBehaviour.Kind.FUNCTION_CALLS;
            // Function calls arrive whole, all in one event (the API never splits a functionCall's args); text
            // before them one word per event.
            List<List<ObjectNode>> events = new ArrayList<>();
            List<ObjectNode> callParts = new ArrayList<>();
            for (ObjectNode p : parts) {
                if (calls && p.has("functionCall")) {
                    callParts.add(p);
                } else {
                    events.add(List.of(p));
                }
            }
            if (!callParts.isEmpty()) {
                events.add(callParts);
            }
            int sent = 0;
            for (int i = 0; i < events.size(); i++) {
                if (sent == b.cutAfter) {
                    cut();
                }
                if (sent == b.malformedAfter) {
                    out.write("data: {\"candidates\": [{\"content\": {not json\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
                if (sent == b.errorEventAfter) {
                    frame(out, status(b.errorEventStatus, b.errorEventStatusName, null, null, null));
                    return true;
                }
                if (sent > 0) {
                    pause(b.tokenDelay);
                }
                boolean last = i == events.size() - 1 && !b.noFinish;
                frame(out, response(events.get(i), last ? b.finishReason : null, model, promptTokens,
                        last ? parts.size() : 0));
                sent++;
            }
            if (sent == b.cutAfter) {
                cut();
            }
            if (sent == b.malformedAfter) {
                out.write("data: {not json\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            if (sent == b.errorEventAfter) {
                frame(out, status(b.errorEventStatus, b.errorEventStatusName, null, null, null));
                return true;
            }
            if (events.isEmpty() && !b.noFinish) {
                frame(out, response(List.of(), b.finishReason, model, promptTokens, 0));
            }
            completedStreams.incrementAndGet();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    private ObjectNode response(List<ObjectNode> parts, String finishReason, String model, int promptTokens,
            int candidateTokens) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode candidate = root.putArray("candidates").addObject();
        ObjectNode content = candidate.putObject("content");
        ArrayNode p = content.putArray("parts");
        parts.forEach(p::add);
        content.put("role", "model");
        if (finishReason != null) {
            candidate.put("finishReason", finishReason);
        }
        candidate.put("index", 0);
        ObjectNode usage = root.putObject("usageMetadata").put("promptTokenCount", promptTokens);
        if (candidateTokens > 0) {
            usage.put("candidatesTokenCount", candidateTokens);
        }
        int thoughts = candidateTokens > 0 ? thoughtsTokens : 0;
        if (thoughts > 0) {
            usage.put("thoughtsTokenCount", thoughts);
        }
        usage.put("totalTokenCount", promptTokens + candidateTokens + thoughts);
        if (cachedTokens > 0) {
            usage.put("cachedContentTokenCount", cachedTokens);
        }
        usage.putArray("promptTokensDetails").addObject().put("modality", "TEXT").put("tokenCount", promptTokens);
        root.put("modelVersion", model);
        root.put("responseId", "fake-" + Integer.toHexString(System.identityHashCode(root)));
        return root;
    }

    private void batchEmbed(HttpExchange ex, String modelId, JsonNode body) throws IOException {
        if (model(modelId) == null) {
            sendStatus(ex, 404, "NOT_FOUND", "models/" + modelId + " is not found for API version v1beta", null, null);
            return;
        }
        GeminiBehaviour b = queue.peek();
        if (b != null && b.kind == GeminiBehaviour.Kind.FAIL) {
            queue.poll();
            sendStatus(ex, b.status, b.statusName, b.message, b.errorReason, b.retryDelay);
            return;
        }
        ObjectNode root = JSON.createObjectNode();
        ArrayNode out = root.putArray("embeddings");
        for (JsonNode r : body.path("requests")) {
            if (!("models/" + modelId).equals(r.path("model").asText())) {
                sendStatus(ex, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests[0].model: the model "
                        + "of each request must match the batch model", null, null);
                return;
            }
            out.addObject().set("values", vector(text(r.path("content")), r.path("outputDimensionality")));
        }
        sendJson(ex, 200, root);
    }

    private void embedOne(HttpExchange ex, String modelId, JsonNode body) throws IOException {
        if (model(modelId) == null) {
            sendStatus(ex, 404, "NOT_FOUND", "models/" + modelId + " is not found for API version v1beta", null, null);
            return;
        }
        ObjectNode root = JSON.createObjectNode();
        root.putObject("embedding").set("values", vector(text(body.path("content")), body.path("outputDimensionality")));
        sendJson(ex, 200, root);
    }

    /** A deterministic vector: the same text always gets the same values. */
    private ArrayNode vector(String text, JsonNode dimensions) {
        int n = dimensions.isInt() ? dimensions.asInt() : embeddingDimensions;
        ArrayNode values = JSON.createArrayNode();
        int seed = text.hashCode();
        for (int i = 0; i < n; i++) {
            seed = seed * 1_103_515_245 + 12_345;
            values.add(((seed >>> 8) % 2000) / 1000.0f - 1.0f);
        }
        return values;
    }

    /**
     * Sends a {@code google.rpc.Status} error body: {@code {"error":{"code","message","status","details"}}}, with
     * the message the API sends for that status when {@code message} is null.
     */
    private static void sendStatus(HttpExchange ex, int code, String status, String message, String reason,
            String retryDelay) throws IOException {
        sendJson(ex, code, status(code, status, message, reason, retryDelay));
    }

    private static ObjectNode status(int code, String status, String message, String reason, String retryDelay) {
        String text = message != null ? message : switch (status) {
            case "RESOURCE_EXHAUSTED" -> "You exceeded your current quota, please check your plan and billing "
                    + "details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";
            case "PERMISSION_DENIED" -> "The caller does not have permission";
            case "INTERNAL" -> "An internal error has occurred. Please retry or report in "
                    + "https://developers.generativeai.google/guide/troubleshooting";
            case "UNAVAILABLE" -> "The model is overloaded. Please try again later.";
            case "DEADLINE_EXCEEDED" -> "Deadline expired before operation could complete.";
            case "NOT_FOUND" -> "Requested entity was not found.";
            default -> "Request contains an invalid argument.";
        };
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error").put("code", code).put("message", text).put("status", status);
        if (reason != null || retryDelay != null) {
            ArrayNode details = error.putArray("details");
            if (reason != null) {
                ObjectNode info = details.addObject()
                        .put("@type", "type.googleapis.com/google.rpc.ErrorInfo")
                        .put("reason", reason).put("domain", "googleapis.com");
                info.putObject("metadata").put("service", "generativelanguage.googleapis.com");
            }
            if (retryDelay != null) {
                ObjectNode quota = details.addObject().put("@type", "type.googleapis.com/google.rpc.QuotaFailure");
                quota.putArray("violations").addObject()
                        .put("quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests")
                        .put("quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
                details.addObject().put("@type", "type.googleapis.com/google.rpc.Help").putArray("links").addObject()
                        .put("description", "Learn more about Gemini API quotas")
                        .put("url", "https://ai.google.dev/gemini-api/docs/rate-limits");
                details.addObject().put("@type", "type.googleapis.com/google.rpc.RetryInfo")
                        .put("retryDelay", retryDelay);
            }
        }
        return root;
    }

    private static void startStream(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
    }

    private static void frame(OutputStream out, JsonNode node) throws IOException {
        // The API separates events with CRLF CRLF.
        out.write(("data: " + JSON.writeValueAsString(node) + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void sendJson(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private void record(HttpExchange ex, JsonNode body) {
        Map<String, List<String>> headers = new HashMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        String q = ex.getRequestURI().getRawQuery();
        requests.add(new RecordedRequest(ex.getRequestMethod(),
                ex.getRequestURI().getPath() + (q == null ? "" : "?" + q), headers, body));
    }

    private static Map<String, String> query(HttpExchange ex) {
        Map<String, String> q = new LinkedHashMap<>();
        String raw = ex.getRequestURI().getRawQuery();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    q.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }

    static List<String> words(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        return Arrays.asList(text.split("(?<=\\S)(?=\\s)"));
    }

    private static int promptWords(JsonNode body) {
        int n = count(text(body.path("systemInstruction")));
        for (JsonNode c : body.path("contents")) {
            n += count(text(c));
        }
        return n;
    }

    private static int count(String text) {
        String t = text.trim();
        return t.isEmpty() ? 0 : t.split("\\s+").length;
    }

    private static String lastUserText(JsonNode body) {
        String last = "";
        for (JsonNode c : body.path("contents")) {
            if ("user".equals(c.path("role").asText()) && !text(c).isEmpty()) {
                last = text(c);
            }
        }
        return last;
    }

    /** The text parts of a {@code Content}, joined. */
    private static String text(JsonNode content) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content.path("parts")) {
            if (part.has("text")) {
                sb.append(part.path("text").asText());
            }
        }
        return sb.toString();
    }

}

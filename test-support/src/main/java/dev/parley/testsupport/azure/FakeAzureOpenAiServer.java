package dev.parley.testsupport.azure;

import static dev.parley.testsupport.FakeServers.cut;
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
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A loopback server speaking the Azure OpenAI data-plane wire protocol, scriptable per test.
 *
 * <p>Followed: Azure OpenAI "REST API reference" (data plane, GA {@code 2024-10-21}): {@code POST
 * /openai/deployments/{deployment-id}/chat/completions?api-version=...} and {@code .../embeddings}; the v1 routes
 * {@code POST /openai/v1/chat/completions} and {@code /openai/v1/embeddings} (deployment name in the body's
 * {@code model}, no api-version needed); authentication by the {@code api-key} header or {@code Authorization: Bearer}
 * with a Microsoft Entra ID token. Streaming is OpenAI's chat-completions SSE ({@code data: <chunk>\n\n}, ending
 * {@code data: [DONE]}) with Azure's additions ("Content filtering" — "Streaming"): a first chunk with empty
 * {@code choices} and {@code prompt_filter_results}, {@code content_filter_results} in each choice, and the usage chunk
 * (empty choices) when {@code stream_options.include_usage} is set. Errors: Azure's {@code {"error": {"code",
 * "message"}}} (401 "Access denied due to invalid subscription key...", 403 PermissionDenied, 404 DeploymentNotFound,
 * 429 with {@code retry-after} and {@code retry-after-ms} ("Quotas and limits")), the OpenAI shape Azure passes
 * through for {@code context_length_exceeded}, and 400 {@code content_filter} with {@code innererror.code
 * ResponsibleAIPolicyViolation} and {@code content_filter_result} ("Content filtering" — "Scenario details").
 *
 * <p>Usage numbers are deterministic: {@code prompt_tokens} is the number of words in the messages' text,
 * {@code completion_tokens} the number of content chunks (or tool-call pieces).
 */
public final class FakeAzureOpenAiServer implements AutoCloseable {

    /** API versions this fake accepts on the deployment routes. */
    public static final Set<String> API_VERSIONS = Set.of("2024-02-01", "2024-06-01", "2024-10-21",
            "2025-01-01-preview", "2025-03-01-preview", "2025-04-01-preview");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final String apiKey;
    private final Map<String, String> deployments = new ConcurrentHashMap<>();
    private final Map<String, Integer> embeddingDimensions = new ConcurrentHashMap<>();
    private final Queue<AzureBehaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<AzureRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicInteger ids = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Predicate<String> bearer = t -> false;
    private volatile AzureBehaviour defaultBehaviour = AzureBehaviour.echo();

    private FakeAzureOpenAiServer(String apiKey) throws IOException {
        this.apiKey = apiKey;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-azure-openai-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/openai/", this::handle);
        server.start();
    }

    /** Starts a server that takes {@code api-key: <apiKey>} (null: no key accepted, only bearer tokens). */
    public static FakeAzureOpenAiServer start(String apiKey) {
        try {
            return new FakeAzureOpenAiServer(apiKey);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start fake Azure OpenAI server", e);
        }
    }

    /** The resource endpoint a client is configured with, e.g. {@code http://127.0.0.1:12345}. */
    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Adds a chat deployment named {@code deployment} serving {@code model} (reported in answers). */
    public FakeAzureOpenAiServer deployment(String deployment, String model) {
        deployments.put(deployment, model);
        return this;
    }

    /** Adds an embedding deployment whose vectors have {@code dimensions} by default. */
    public FakeAzureOpenAiServer embeddingDeployment(String deployment, String model, int dimensions) {
        deployments.put(deployment, model);
        embeddingDimensions.put(deployment, dimensions);
        return this;
    }

    /** Which {@code Authorization: Bearer} tokens are accepted (e.g. {@link FakeEntraTokenServer#isValid}). */
    public FakeAzureOpenAiServer acceptBearer(Predicate<String> tokens) {
        this.bearer = tokens;
        return this;
    }

    public AzureBehaviour enqueue(AzureBehaviour b) {
        queue.add(b);
        return b;
    }

    public FakeAzureOpenAiServer defaultBehaviour(AzureBehaviour b) {
        this.defaultBehaviour = b;
        return this;
    }

    public List<AzureRequest> requests() {
        return List.copyOf(requests);
    }

    public AzureRequest lastRequest() {
        return requests.isEmpty() ? null : requests.get(requests.size() - 1);
    }

    /** Streams that ended because the client went away while the server was still writing. */
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

    // ---- protocol ----------------------------------------------------------------------------------------------

    private void handle(HttpExchange ex) throws IOException {
        boolean close = true;
        try {
            String raw = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            JsonNode body;
            try {
                body = raw.isEmpty() ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                body = null;
            }
            String path = ex.getRequestURI().getPath();
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            Map<String, List<String>> headers = new HashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
            requests.add(new AzureRequest(ex.getRequestMethod(), path, query, headers,
                    body == null ? MissingNode.getInstance() : body, raw));

            String operation;
            String deployment;
            if (path.startsWith("/openai/deployments/")) {
                String[] segs = path.substring("/openai/deployments/".length()).split("/", 2);
                deployment = segs[0];
                operation = segs.length > 1 ? segs[1] : "";
                String version = query.get("api-version");
                if (version == null) {
                    // What Azure answers to a deployment route without api-version.
                    error(ex, 404, "404", "Resource not found", null);
                    return;
                }
                if (!API_VERSIONS.contains(version)) {
                    error(ex, 400, "BadRequest", "API version not supported", null);
                    return;
                }
            } else if (path.startsWith("/openai/v1/")) {
                operation = path.substring("/openai/v1/".length());
                deployment = body == null ? null : body.path("model").asText(null);
            } else {
                error(ex, 404, "404", "Resource not found", null);
                return;
            }
            if (!authorized(ex)) {
                boolean usedBearer = ex.getRequestHeaders().getFirst("Authorization") != null;
                error(ex, 401, "401", usedBearer
                        ? "Unauthorized. Access token is missing, invalid, audience is incorrect "
                                + "(https://cognitiveservices.azure.com), or have expired."
                        : "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                                + "valid key for an active subscription and use a correct regional API endpoint for "
                                + "your resource.", null);
                return;
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                error(ex, 405, "405", "Method not allowed", null);
                return;
            }
            if (body == null) {
                error(ex, 400, "BadRequest", "We could not parse the JSON body of your request.", null);
                return;
            }
            if (deployment == null || !deployments.containsKey(deployment)) {
                error(ex, 404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you "
                        + "created the deployment within the last 5 minutes, please wait a moment and try again.", null);
                return;
            }
            switch (operation) {
                case "chat/completions" -> close = chat(ex, body, deployment);
                case "embeddings" -> embeddings(ex, body, deployment);
                default -> error(ex, 404, "404", "Resource not found", null);
            }
        } catch (StreamCut cut) {
            close = false;
            throw cut;
        } finally {
            if (close) {
                ex.close();
            }
        }
    }

    private boolean authorized(HttpExchange ex) {
        String key = ex.getRequestHeaders().getFirst("api-key");
        if (key != null) {
            return apiKey != null && apiKey.equals(key);
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        return auth != null && auth.startsWith("Bearer ") && bearer.test(auth.substring("Bearer ".length()));
    }

    private boolean chat(HttpExchange ex, JsonNode body, String deployment) throws IOException {
        if (!body.path("messages").isArray() || body.path("messages").isEmpty()) {
            error(ex, 400, null, "'messages' is a required property", "invalid_request_error");
            return true;
        }
        AzureBehaviour b = queue.poll();
        if (b == null) {
            b = defaultBehaviour;
        }
        if (b.kind == AzureBehaviour.Kind.FAIL) {
            if (b.retryAfterSeconds >= 0) {
                ex.getResponseHeaders().set("retry-after", Long.toString(b.retryAfterSeconds));
            }
            if (b.retryAfterMs >= 0) {
                ex.getResponseHeaders().set("retry-after-ms", Long.toString(b.retryAfterMs));
            }
            if (b.status == 429) {
                ex.getResponseHeaders().set("x-ratelimit-remaining-requests", "0");
                ex.getResponseHeaders().set("x-ratelimit-remaining-tokens", "0");
            }
            ObjectNode err = errorBody(b.errorCode, b.errorMessage,
                    "context_length_exceeded".equals(b.errorCode) ? "invalid_request_error" : null);
            if ("context_length_exceeded".equals(b.errorCode)) {
                ((ObjectNode) err.get("error")).put("param", "messages");
            }
            if (b.innerErrorCode != null) {
                ObjectNode e = (ObjectNode) err.get("error");
                e.put("param", "prompt").put("status", b.status);
                ObjectNode inner = e.putObject("innererror").put("code", b.innerErrorCode);
                if (b.contentFilterResult) {
                    inner.set("content_filter_result", filterResults("hate", "high"));
                }
            }
            json(ex, b.status, err);
            return true;
        }
        String model = deployments.get(deployment);
        List<String> pieces = b.pieces(lastUserText(body));
        int prompt = promptWords(body);
        int completion = b.kind == AzureBehaviour.Kind.TOOL_CALLS ? b.calls.size() * 2 : pieces.size();
        if (body.path("stream").asBoolean(false)) {
            return stream(ex, b, body, model, pieces, prompt, completion);
        }
        pause(b.firstTokenDelay);
        ObjectNode root = JSON.createObjectNode().put("id", "chatcmpl-az" + ids.incrementAndGet())
                .put("object", "chat.completion").put("created", System.currentTimeMillis() / 1000)
                .put("model", model).put("system_fingerprint", "fp_azure_fake");
        root.putArray("prompt_filter_results").addObject().put("prompt_index", 0)
                .set("content_filter_results", filterResults(null, null));
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0)
                .put("finish_reason", b.finishReason);
        choice.putNull("logprobs");
        choice.set("content_filter_results", filterResults(b.filterFinish ? "violence" : null, "medium"));
        ObjectNode message = choice.putObject("message").put("role", "assistant");
        if (b.kind == AzureBehaviour.Kind.TOOL_CALLS && pieces.isEmpty()) {
            message.putNull("content");
        } else {
            message.put("content", String.join("", pieces));
        }
        if (b.kind == AzureBehaviour.Kind.TOOL_CALLS) {
            ArrayNode calls = message.putArray("tool_calls");
            for (AzureBehaviour.Call c : b.calls) {
                calls.addObject().put("id", c.id()).put("type", "function").putObject("function")
                        .put("name", c.name()).put("arguments", c.argumentsJson());
            }
        }
        message.putNull("refusal");
        usage(root, prompt, completion, b.cachedTokens);
        if (b.malformedAfter >= 0) {
            byte[] broken = "{\"id\":\"x\",\"choices\":[{not json".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, broken.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(broken);
            }
            return true;
        }
        json(ex, 200, root);
        return true;
    }

    private boolean stream(HttpExchange ex, AzureBehaviour b, JsonNode body, String model, List<String> pieces,
            int prompt, int completion) throws IOException {
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        String id = "chatcmpl-az" + ids.incrementAndGet();
        long created = System.currentTimeMillis() / 1000;
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("apim-request-id", "fake-" + id);
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        try {
            // Azure's first chunk: the prompt's filter results, no choices, empty id and model.
            ObjectNode first = JSON.createObjectNode();
            first.putArray("choices");
            first.put("created", 0).put("id", "").put("model", "").put("object", "");
            first.putArray("prompt_filter_results").addObject().put("prompt_index", 0)
                    .set("content_filter_results", filterResults(null, null));
            frame(out, first);
            pause(b.firstTokenDelay);
            frame(out, chunk(id, created, model, JSON.createObjectNode().put("role", "assistant").put("content", ""),
                    null, JSON.createObjectNode()));
            int sent = 0;
            for (String piece : pieces) {
                if (sent == b.cutAfter) {
                    cut();
                }
                if (sent == b.malformedAfter) {
                    out.write("data: {not json}\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return true;
                }
                if (sent == b.errorEventAfter) {
                    errorEvent(out, b.errorEventCode);
                    return true;
                }
                if (sent > 0) {
                    pause(b.tokenDelay);
                }
                frame(out, chunk(id, created, model, JSON.createObjectNode().put("content", piece), null,
                        filterResults(null, null)));
                sent++;
            }
            if (sent == b.cutAfter) {
                cut();
            }
            if (sent == b.errorEventAfter) {
                errorEvent(out, b.errorEventCode);
                return true;
            }
            int index = 0;
            for (AzureBehaviour.Call c : b.calls) {
                // As OpenAI streams a tool call: id, type and name first, then the arguments in pieces.
                ObjectNode d1 = JSON.createObjectNode();
                ObjectNode tc1 = d1.putArray("tool_calls").addObject().put("index", index).put("id", c.id())
                        .put("type", "function");
                tc1.putObject("function").put("name", c.name()).put("arguments", "");
                frame(out, chunk(id, created, model, d1, null, JSON.createObjectNode()));
                for (String part : b.argumentPieces(c.argumentsJson())) {
                    ObjectNode d = JSON.createObjectNode();
                    d.putArray("tool_calls").addObject().put("index", index).putObject("function")
                            .put("arguments", part);
                    frame(out, chunk(id, created, model, d, null, JSON.createObjectNode()));
                }
                index++;
            }
            frame(out, chunk(id, created, model, JSON.createObjectNode(), b.finishReason,
                    filterResults(b.filterFinish ? "violence" : null, "medium")));
            if (includeUsage) {
                ObjectNode u = JSON.createObjectNode().put("id", id).put("object", "chat.completion.chunk")
                        .put("created", created).put("model", model).put("system_fingerprint", "fp_azure_fake");
                u.putArray("choices");
                usage(u, prompt, completion, b.cachedTokens);
                frame(out, u);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    private void errorEvent(OutputStream out, String code) throws IOException {
        ObjectNode e = errorBody(code, "The server had an error while processing your request.", "server_error");
        frame(out, e);
    }

    private void embeddings(HttpExchange ex, JsonNode body, String deployment) throws IOException {
        JsonNode input = body.path("input");
        List<String> inputs = new java.util.ArrayList<>();
        if (input.isTextual()) {
            inputs.add(input.asText());
        } else if (input.isArray()) {
            input.forEach(i -> inputs.add(i.asText()));
        }
        if (inputs.isEmpty()) {
            error(ex, 400, null, "'input' is a required property", "invalid_request_error");
            return;
        }
        if (inputs.size() > 2048) {
            error(ex, 400, null, "Too many inputs. The max number of inputs is 2048.", "invalid_request_error");
            return;
        }
        int dims = body.has("dimensions") ? body.path("dimensions").asInt()
                : embeddingDimensions.getOrDefault(deployment, 8);
        boolean base64 = "base64".equals(body.path("encoding_format").asText("float"));
        ObjectNode root = JSON.createObjectNode().put("object", "list").put("model", deployments.get(deployment));
        ArrayNode data = root.putArray("data");
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String text = inputs.get(i);
            tokens += text.isBlank() ? 0 : text.trim().split("\\s+").length;
            float[] v = vector(text, dims);
            ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
            if (base64) {
                ByteBuffer buf = ByteBuffer.allocate(4 * dims).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) {
                    buf.putFloat(f);
                }
                e.put("embedding", Base64.getEncoder().encodeToString(buf.array()));
            } else {
                ArrayNode arr = e.putArray("embedding");
                for (float f : v) {
                    arr.add(f);
                }
            }
        }
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        json(ex, 200, root);
    }

    /** A deterministic vector: component k is (length of text + k) / 100, so tests can compute it. */
    public static float[] vector(String text, int dims) {
        float[] v = new float[dims];
        for (int k = 0; k < dims; k++) {
            v[k] = (text.length() + k) / 100f;
        }
        return v;
    }

    // ---- framing -------------------------------------------------------------------------------------------------

    private static ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finish,
            ObjectNode filter) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode choice = root.putArray("choices").addObject();
        choice.set("content_filter_results", filter);
        choice.set("delta", delta);
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        choice.put("index", 0);
        choice.putNull("logprobs");
        root.put("created", created).put("id", id).put("model", model).put("object", "chat.completion.chunk")
                .put("system_fingerprint", "fp_azure_fake");
        return root;
    }

    private static ObjectNode filterResults(String filteredCategory, String severity) {
        ObjectNode r = JSON.createObjectNode();
        for (String c : List.of("hate", "self_harm", "sexual", "violence")) {
            boolean f = c.equals(filteredCategory);
            r.putObject(c).put("filtered", f).put("severity", f ? severity : "safe");
        }
        return r;
    }

    private static void usage(ObjectNode root, int prompt, int completion, int cached) {
        ObjectNode u = root.putObject("usage").put("completion_tokens", completion).put("prompt_tokens", prompt)
                .put("total_tokens", prompt + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        u.putObject("completion_tokens_details").put("reasoning_tokens", 0);
    }

    private static ObjectNode errorBody(String code, String message, String type) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        if (code == null) {
            e.putNull("code");
        } else {
            e.put("code", code);
        }
        e.put("message", message);
        if (type != null) {
            e.put("type", type);
            e.putNull("param");
        }
        return root;
    }

    private static void error(HttpExchange ex, int status, String code, String message, String type)
            throws IOException {
        json(ex, status, errorBody(code, message, type));
    }

    private static void json(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void frame(OutputStream out, JsonNode node) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            q.putIfAbsent(k, v);
        }
        return q;
    }

    private static int promptWords(JsonNode body) {
        int n = 0;
        for (JsonNode m : body.path("messages")) {
            String t = text(m.path("content")).trim();
            if (!t.isEmpty()) {
                n += t.split("\\s+").length;
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

}

package dev.parley.testsupport.anthropic;

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
import dev.parley.testsupport.RecordedRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
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
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback HTTP server speaking the Anthropic Messages API wire protocol, scriptable per test. It follows the
 * vendor's documentation (docs.anthropic.com / platform.claude.com, API reference):
 * <ul>
 * <li>"Messages" ({@code POST /v1/messages}): headers {@code x-api-key} (checked when the server has a key) and
 * {@code anthropic-version} (required), {@code content-type: application/json}; the body's {@code model},
 * {@code max_tokens} (required), {@code messages}, {@code system}, {@code tools}, {@code tool_choice},
 * {@code stop_sequences}, {@code temperature}, {@code top_p}, {@code output_config}, {@code stream}. A non-streamed
 * answer is a Message object ({@code id, type: message, role, model, content[], stop_reason, stop_sequence,
 * usage}).</li>
 * <li>"Streaming Messages": {@code text/event-stream} with {@code event:}/{@code data:} pairs — message_start,
 * content_block_start (text, tool_use with {@code input: {}}), ping, content_block_delta (text_delta,
 * input_json_delta with {@code partial_json}), content_block_stop, message_delta ({@code delta.stop_reason},
 * cumulative {@code usage.output_tokens}), message_stop; and {@code event: error} with an error object mid-stream.</li>
 * <li>"Errors": {@code {"type":"error","error":{"type":...,"message":...},"request_id":...}} with 400
 * invalid_request_error, 401 authentication_error, 403 permission_error, 404 not_found_error, 413
 * request_too_large, 429 rate_limit_error, 500 api_error, 529 overloaded_error; a {@code request-id} header.</li>
 * <li>"Rate limits": {@code retry-after} (seconds) on 429 and {@code anthropic-ratelimit-requests-limit /
 * -remaining / -reset} (RFC 3339) headers.</li>
 * <li>"Models" ({@code GET /v1/models}): {@code {"data":[{"type":"model","id","display_name","created_at",...}],
 * "has_more","first_id","last_id"}}.</li>
 * </ul>
 * The event shapes match the SDK's own test fixtures (anthropic-sdk-java, {@code MessageAccumulatorTest},
 * {@code SseHandlerTest}). Usage is deterministic: {@code input_tokens} is the number of words of the request's
 * message texts, {@code output_tokens} the number of deltas sent.
 */
public final class FakeAnthropicServer implements AutoCloseable {

    public static final String VERSION = "2023-06-01";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final String apiKey;
    private final Queue<AnthropicBehaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicInteger completedStreams = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile AnthropicBehaviour defaultBehaviour = AnthropicBehaviour.echo();
    private volatile List<ObjectNode> models = List.of(
            model("claude-sonnet-4-5", "Claude Sonnet 4.5", 200_000, 64_000),
            model("claude-haiku-4-5", "Claude Haiku 4.5", 200_000, 64_000));
    private volatile int modelsPageSize = 1000;

    private FakeAnthropicServer(String apiKey) throws IOException {
        this.apiKey = apiKey;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-anthropic-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/v1/messages", this::messages);
        server.createContext("/v1/models", this::models);
        server.start();
    }

    /** A server that demands {@code x-api-key: apiKey} (null: any caller). */
    public static FakeAnthropicServer start(String apiKey) {
        try {
            return new FakeAnthropicServer(apiKey);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the fake Anthropic server", e);
        }
    }

    /** The base URL a client is given, e.g. {@code http://127.0.0.1:12345} (the SDK appends {@code /v1/...}). */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    // ---- scripting -------------------------------------------------------------------------------------------

    public AnthropicBehaviour enqueue(AnthropicBehaviour b) {
        queue.add(b);
        return b;
    }

    public FakeAnthropicServer defaultBehaviour(AnthropicBehaviour b) {
        this.defaultBehaviour = b;
        return this;
    }

    /** The models {@code GET /v1/models} lists: id, display name, max input tokens, max output tokens. */
    public FakeAnthropicServer models(List<ObjectNode> models) {
        this.models = List.copyOf(models);
        return this;
    }

    /** How many models one page of {@code GET /v1/models} holds (then {@code has_more} and {@code after_id}). */
    public FakeAnthropicServer modelsPageSize(int size) {
        this.modelsPageSize = size;
        return this;
    }

    /** One entry of the models list as the Models API documents it. */
    public static ObjectNode model(String id, String displayName, long maxInputTokens, long maxTokens) {
        return JSON.createObjectNode().put("type", "model").put("id", id).put("display_name", displayName)
                .put("created_at", "2025-09-29T00:00:00Z").put("max_input_tokens", maxInputTokens)
                .put("max_tokens", maxTokens);
    }

    // ---- observing -------------------------------------------------------------------------------------------

    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    public List<RecordedRequest> messageRequests() {
        return requests.stream().filter(r -> r.path().equals("/v1/messages")).toList();
    }

    public RecordedRequest lastMessageRequest() {
        List<RecordedRequest> all = messageRequests();
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Streams the client closed while the server was still writing. */
    public int abortedByClient() {
        return abortedByClient.get();
    }

    /** Streams that reached message_stop. */
    public int completedStreams() {
        return completedStreams.get();
    }

    /** Messages requests being answered now. */
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

    private void models(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex, MissingNode.getInstance());
            if (!checkHeaders(ex)) {
                return;
            }
            String after = query(ex, "after_id");
            List<ObjectNode> all = models;
            int from = 0;
            if (after != null) {
                for (int i = 0; i < all.size(); i++) {
                    if (all.get(i).path("id").asText().equals(after)) {
                        from = i + 1;
                    }
                }
            }
            int limit = Math.min(modelsPageSize, parseInt(query(ex, "limit"), 20));
            List<ObjectNode> page = all.subList(Math.min(from, all.size()), Math.min(all.size(), from + limit));
            ObjectNode root = JSON.createObjectNode();
            ArrayNode data = root.putArray("data");
            page.forEach(data::add);
            root.put("has_more", from + page.size() < all.size());
            if (page.isEmpty()) {
                root.putNull("first_id").putNull("last_id");
            } else {
                root.put("first_id", page.get(0).path("id").asText())
                        .put("last_id", page.get(page.size() - 1).path("id").asText());
            }
            sendJson(ex, 200, root);
        }
    }

    private void messages(HttpExchange ex) throws IOException {
        inFlight.incrementAndGet();
        boolean closeExchange = true;
        try {
            byte[] raw = ex.getRequestBody().readAllBytes();
            JsonNode body;
            try {
                body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                record(ex, MissingNode.getInstance());
                sendError(ex, 400, "invalid_request_error", "The request body is not valid JSON.", null);
                return;
            }
            record(ex, body);
            if (!checkHeaders(ex)) {
                return;
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                sendError(ex, 405, "invalid_request_error", "Method not allowed.", null);
                return;
            }
            if (!body.path("max_tokens").isIntegralNumber()) {
                sendError(ex, 400, "invalid_request_error", "max_tokens: Field required", null);
                return;
            }
            if (!body.path("model").isTextual() || !body.path("messages").isArray()) {
                sendError(ex, 400, "invalid_request_error", "model and messages are required", null);
                return;
            }
            AnthropicBehaviour b = queue.poll();
            if (b == null) {
                b = defaultBehaviour;
            }
            if (b.kind == AnthropicBehaviour.Kind.FAIL) {
                sendError(ex, b.status, b.errorType, b.errorMessage, b.retryAfterSeconds);
                return;
            }
            Answer answer = answerFor(b, body);
            if (body.path("stream").asBoolean(false)) {
                closeExchange = stream(ex, b, answer);
            } else {
                whole(ex, b, answer);
            }
        } catch (StreamCut cut) {
            // Escaping the handler makes HttpServer drop the connection instead of ending the chunked body.
            closeExchange = false;
            throw cut;
        } finally {
            inFlight.decrementAndGet();
            if (closeExchange) {
                ex.close();
            }
        }
    }

    /** x-api-key and anthropic-version, as the API checks them (Authentication; Versions). */
    private boolean checkHeaders(HttpExchange ex) throws IOException {
        String key = ex.getRequestHeaders().getFirst("x-api-key");
        if (apiKey != null && !apiKey.equals(key)) {
            sendError(ex, 401, "authentication_error", "invalid x-api-key", null);
            return false;
        }
        if (ex.getRequestHeaders().getFirst("anthropic-version") == null) {
            sendError(ex, 400, "invalid_request_error", "anthropic-version: header is required", null);
            return false;
        }
        return true;
    }

    private record Answer(String model, List<String> words, List<AnthropicBehaviour.ToolUse> toolUses,
            String stopReason, long inputTokens) {
    }

    private static Answer answerFor(AnthropicBehaviour b, JsonNode body) {
        String text = b.kind == AnthropicBehaviour.Kind.ECHO ? "echo: " + lastUserText(body) : b.text;
        String stop = b.stopReason != null ? b.stopReason : "end_turn";
        String model = b.answeredModel != null ? b.answeredModel : body.path("model").asText();
        return new Answer(model, words(text), List.copyOf(b.toolUses), stop, promptWords(body));
    }

    private void whole(HttpExchange ex, AnthropicBehaviour b, Answer a) throws IOException {
        pause(b.headersDelay);
        pause(b.firstEventDelay);
        ObjectNode m = message(a, b);
        ArrayNode content = m.putArray("content");
        if (!a.words().isEmpty()) {
            content.addObject().put("type", "text").put("text", String.join("", a.words()));
        }
        for (AnthropicBehaviour.ToolUse t : a.toolUses()) {
            content.addObject().put("type", "tool_use").put("id", t.id()).put("name", t.name())
                    .set("input", JSON.readTree(t.inputJson()));
        }
        m.put("stop_reason", a.stopReason()).putNull("stop_sequence");
        usage(m.putObject("usage"), a.inputTokens(), a.words().size() + a.toolUses().size(), b);
        if (b.malformedAfter >= 0) {
            byte[] broken = "{\"id\":\"msg_x\",\"type\":\"message\",\"content\":[{not json".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, broken.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(broken);
            }
            return;
        }
        if (b.cutAfter >= 0) {
            byte[] bytes = JSON.writeValueAsBytes(m);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, bytes.length);
            OutputStream out = ex.getResponseBody();
            out.write(bytes, 0, bytes.length / 2);
            out.flush();
            cut();
        }
        sendJson(ex, 200, m);
    }

    private ObjectNode message(Answer a, AnthropicBehaviour b) {
        return JSON.createObjectNode().put("id", "msg_fake" + ids.incrementAndGet()).put("type", "message")
                .put("role", "assistant").put("model", a.model());
    }

    private static void usage(ObjectNode u, long input, long output, AnthropicBehaviour b) {
        u.put("input_tokens", input).put("cache_creation_input_tokens", b.cacheCreationTokens)
                .put("cache_read_input_tokens", b.cacheReadTokens).put("output_tokens", output);
    }

    /** Returns false when the exchange must not be closed cleanly (the client went away). */
    private boolean stream(HttpExchange ex, AnthropicBehaviour b, Answer a) throws IOException {
        pause(b.headersDelay);
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.getResponseHeaders().set("request-id", "req_fake" + ids.incrementAndGet());
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        try {
            pause(b.firstEventDelay);
            ObjectNode start = JSON.createObjectNode().put("type", "message_start");
            ObjectNode m = message(a, b);
            m.putArray("content");
            m.putNull("stop_reason").putNull("stop_sequence");
            usage(m.putObject("usage"), a.inputTokens(), 1, b);
            start.set("message", m);
            event(out, "message_start", start);
            int index = 0;
            int sent = 0;
            if (!a.words().isEmpty()) {
                event(out, "content_block_start", JSON.createObjectNode().put("type", "content_block_start")
                        .put("index", index).set("content_block",
                                JSON.createObjectNode().put("type", "text").put("text", "")));
                event(out, "ping", JSON.createObjectNode().put("type", "ping"));
                for (String w : a.words()) {
                    sent = beforeDelta(out, b, sent);
                    ObjectNode delta = JSON.createObjectNode().put("type", "text_delta").put("text", w);
                    event(out, "content_block_delta", JSON.createObjectNode().put("type", "content_block_delta")
                            .put("index", index).set("delta", delta));
                }
                event(out, "content_block_stop", JSON.createObjectNode().put("type", "content_block_stop")
                        .put("index", index));
                index++;
            }
            for (AnthropicBehaviour.ToolUse t : a.toolUses()) {
                ObjectNode block = JSON.createObjectNode().put("type", "tool_use").put("id", t.id())
                        .put("name", t.name());
                block.putObject("input");
                event(out, "content_block_start", JSON.createObjectNode().put("type", "content_block_start")
                        .put("index", index).set("content_block", block));
                for (String piece : b.inputPieceChars > 0 ? pieces(t.inputJson(), b.inputPieceChars) : halves(t.inputJson())) {
                    sent = beforeDelta(out, b, sent);
                    ObjectNode delta = JSON.createObjectNode().put("type", "input_json_delta")
                            .put("partial_json", piece);
                    event(out, "content_block_delta", JSON.createObjectNode().put("type", "content_block_delta")
                            .put("index", index).set("delta", delta));
                }
                event(out, "content_block_stop", JSON.createObjectNode().put("type", "content_block_stop")
                        .put("index", index));
                index++;
            }
            beforeDelta(out, b, sent);
            ObjectNode delta = JSON.createObjectNode().put("type", "message_delta");
            delta.putObject("delta").put("stop_reason", a.stopReason()).putNull("stop_sequence");
            delta.putObject("usage").put("output_tokens", sent);
            event(out, "message_delta", delta);
            event(out, "message_stop", JSON.createObjectNode().put("type", "message_stop"));
            completedStreams.incrementAndGet();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (ErrorEventSent errorEvent) {
            return true;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    /** Applies the scripted cut, malformed event, error event and delay before delta number {@code sent}. */
    private static int beforeDelta(OutputStream out, AnthropicBehaviour b, int sent) throws IOException {
        if (sent == b.cutAfter) {
            cut();
        }
        if (sent == b.malformedAfter) {
            out.write("event: content_block_delta\ndata: {not json\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
        if (sent == b.errorEventAfter) {
            ObjectNode error = JSON.createObjectNode().put("type", "error");
            error.putObject("error").put("type", b.errorEventType).put("message", b.errorEventMessage);
            event(out, "error", error);
            throw new ErrorEventSent();
        }
        if (sent > 0) {
            pause(b.deltaDelay);
        }
        return sent + 1;
    }

    private static void event(OutputStream out, String name, JsonNode data) throws IOException {
        out.write(("event: " + name + "\ndata: " + JSON.writeValueAsString(data) + "\n\n")
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private void sendError(HttpExchange ex, int status, String type, String message, Long retryAfter)
            throws IOException {
        String defaultMessage = switch (type) {
            case "invalid_request_error" -> "There was an issue with the format or content of your request.";
            case "authentication_error" -> "invalid x-api-key";
            case "permission_error" -> "Your API key does not have permission to use the specified resource.";
            case "not_found_error" -> "The requested resource could not be found.";
            case "request_too_large" -> "Request exceeds the maximum allowed number of bytes.";
            case "rate_limit_error" -> "Number of request tokens has exceeded your per-minute rate limit.";
            case "api_error" -> "An unexpected error has occurred internal to Anthropic's systems.";
            case "overloaded_error" -> "Overloaded";
            default -> "Error " + status;
        };
        if (status == 429 || retryAfter != null) {
            long seconds = retryAfter == null ? 1 : retryAfter;
            ex.getResponseHeaders().set("retry-after", Long.toString(seconds));
            ex.getResponseHeaders().set("anthropic-ratelimit-requests-limit", "50");
            ex.getResponseHeaders().set("anthropic-ratelimit-requests-remaining", "0");
            ex.getResponseHeaders().set("anthropic-ratelimit-requests-reset",
                    Instant.now().plusSeconds(seconds).truncatedTo(ChronoUnit.SECONDS).toString());
        }
        ex.getResponseHeaders().set("request-id", "req_fake" + ids.incrementAndGet());
        ObjectNode root = JSON.createObjectNode().put("type", "error");
        root.putObject("error").put("type", type).put("message", message == null ? defaultMessage : message);
        root.put("request_id", "req_fake" + ids.get());
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

    private void record(HttpExchange ex, JsonNode body) {
        Map<String, List<String>> headers = new HashMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        String path = ex.getRequestURI().getPath();
        requests.add(new RecordedRequest(ex.getRequestMethod(), path, headers, body));
    }

    private static String query(HttpExchange ex, String name) {
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals(name)) {
                return java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static int parseInt(String s, int otherwise) {
        try {
            return s == null ? otherwise : Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    static List<String> words(String text) {
        if (text == null || text.isEmpty()) {
            return List.of();
        }
        return Arrays.asList(text.split("(?<=\\S)(?=\\s)"));
    }

    private static List<String> pieces(String s, int chars) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s.length(); i += chars) {
            out.add(s.substring(i, Math.min(s.length(), i + chars)));
        }
        return out;
    }

    private static List<String> halves(String s) {
        if (s.length() < 2) {
            return List.of(s);
        }
        return List.of(s.substring(0, s.length() / 2), s.substring(s.length() / 2));
    }

    private static long promptWords(JsonNode body) {
        long n = 0;
        List<String> texts = new ArrayList<>();
        if (body.path("system").isTextual()) {
            texts.add(body.path("system").asText());
        }
        for (JsonNode m : body.path("messages")) {
            texts.add(text(m.path("content")));
        }
        for (String t : texts) {
            String s = t.trim();
            if (!s.isEmpty()) {
                n += s.split("\\s+").length;
            }
        }
        return n;
    }

    private static String lastUserText(JsonNode body) {
        String last = "";
        for (JsonNode m : body.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                String t = text(m.path("content"));
                if (!t.isEmpty()) {
                    last = t;
                }
            }
        }
        return last;
    }

    /** Content is a string or an array of blocks; only text blocks count. */
    private static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode block : content) {
            if ("text".equals(block.path("type").asText())) {
                sb.append(block.path("text").asText());
            }
        }
        return sb.toString();
    }

    /** The error event ended the stream: the exchange ends normally, without message_stop. */
    private static final class ErrorEventSent extends IOException {
        private static final long serialVersionUID = 1L;

        ErrorEventSent() {
            super("error event sent");
        }
    }
}

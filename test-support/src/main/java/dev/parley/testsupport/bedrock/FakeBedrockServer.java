package dev.parley.testsupport.bedrock;

import static dev.parley.testsupport.FakeServers.CUT_PAUSE;
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
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback server speaking the Amazon Bedrock Runtime wire protocol, scriptable per test:
 * <ul>
 * <li>{@code POST /model/{modelId}/converse} (Bedrock API reference, "Converse": request {@code messages},
 * {@code system}, {@code inferenceConfig}, {@code toolConfig}, {@code outputConfig}; response {@code output.message},
 * {@code stopReason}, {@code usage}, {@code metrics});</li>
 * <li>{@code POST /model/{modelId}/converse-stream} ("ConverseStream"): {@code application/vnd.amazon.eventstream},
 * binary event-stream messages ({@link EventStreamEncoder}) {@code messageStart}, {@code contentBlockStart}
 * (tool use), {@code contentBlockDelta} (text, tool input fragments), {@code contentBlockStop},
 * {@code messageStop}, {@code metadata}, and exception messages ({@code throttlingException},
 * {@code modelStreamErrorException}, {@code validationException}, {@code serviceUnavailableException},
 * {@code internalServerException}, {@code modelTimeoutException}); every event payload carries the {@code p}
 * padding field the service adds;</li>
 * <li>{@code POST /model/{modelId}/invoke} ("InvokeModel") for Amazon Titan Text Embeddings ({@code inputText},
 * {@code dimensions}, {@code normalize} in; {@code embedding}, {@code inputTextTokenCount} out).</li>
 * </ul>
 * Every request must carry a valid SigV4 signature for the server's credentials, region and service
 * {@code bedrock} ({@link SigV4Verifier}); HTTP errors come as AWS sends them: the status, an
 * {@code x-amzn-ErrorType} header and a {@code {"message": ...}} body. The request body is checked against the
 * documented shape (alternating roles, block kinds, image formats, tool configuration when the history holds tool
 * blocks, tool results matching the previous turn's tool uses), and a violation is answered with 400
 * {@code ValidationException} as the service does.
 *
 * <p>Usage numbers are deterministic: {@code inputTokens} is the number of words in the system prompt and the
 * messages' text, {@code outputTokens} the number of deltas of the answer.
 */
public final class FakeBedrockServer implements AutoCloseable {

    public static final String ACCESS_KEY_ID = "AKIDPARLEYFAKE0000001";
    public static final String SECRET_ACCESS_KEY = "parley/fake+secret/key/for/bedrock/tests00";
    public static final String REGION = "us-east-1";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PATH = Pattern.compile("^/model/([^/]+)/(converse|converse-stream|invoke)$");
    private static final Set<String> IMAGE_FORMATS = Set.of("png", "jpeg", "gif", "webp");

    private final HttpServer server;
    private final ExecutorService executor;
    private final SigV4Verifier verifier;
    private final Queue<BedrockBehaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger completedStreams = new AtomicInteger();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile int maxInputWords = Integer.MAX_VALUE;
    private volatile Duration tokenDelay = Duration.ZERO;

    private FakeBedrockServer(SigV4Verifier verifier) throws IOException {
        this.verifier = verifier;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        this.executor = Executors.newCachedThreadPool(daemonThreads("fake-bedrock"));
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** A server for {@link #ACCESS_KEY_ID} / {@link #SECRET_ACCESS_KEY} in {@link #REGION}, no session token. */
    public static FakeBedrockServer start() {
        return start(ACCESS_KEY_ID, SECRET_ACCESS_KEY, null, REGION);
    }

    /** A server that accepts only requests signed with these credentials for {@code region} and service bedrock. */
    public static FakeBedrockServer start(String accessKeyId, String secretAccessKey, String sessionToken,
            String region) {
        try {
            return new FakeBedrockServer(new SigV4Verifier(accessKeyId, secretAccessKey, sessionToken, region,
                    "bedrock"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the fake Bedrock server", e);
        }
    }

    /** The endpoint a client is configured with, e.g. {@code http://127.0.0.1:12345}. */
    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    // ---- scripting -----------------------------------------------------------------------------------------------

    /** Queues a behaviour for the next Converse or ConverseStream request; with none queued, the server echoes. */
    public BedrockBehaviour enqueue(BedrockBehaviour behaviour) {
        queue.add(behaviour);
        return behaviour;
    }

    /** Prompts of more words than this are refused with Bedrock's "Input is too long" ValidationException. */
    public FakeBedrockServer maxInputWords(int words) {
        this.maxInputWords = words;
        return this;
    }

    /** Delay between streamed deltas for behaviours that set none. */
    public FakeBedrockServer tokenDelay(Duration delay) {
        this.tokenDelay = delay;
        return this;
    }

    // ---- observing -----------------------------------------------------------------------------------------------

    /** Every request received, in order, signed or not. */
    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** The last request, or null. */
    public RecordedRequest lastRequest() {
        List<RecordedRequest> all = requests;
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Streams that reached their metadata event. */
    public int completedStreams() {
        return completedStreams.get();
    }

    /** Streams that ended because the client went away while the server was still writing. */
    public int abortedByClient() {
        return abortedByClient.get();
    }

    /** Requests being answered now. */
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

    // ---- protocol ------------------------------------------------------------------------------------------------

    private void handle(HttpExchange ex) throws IOException {
        inFlight.incrementAndGet();
        boolean closeExchange = true;
        try {
            byte[] raw = ex.getRequestBody().readAllBytes();
            Map<String, List<String>> headers = new HashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
            JsonNode body;
            try {
                body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                body = MissingNode.getInstance();
            }
            String rawPath = ex.getRequestURI().getRawPath();
            requests.add(new RecordedRequest(ex.getRequestMethod(), rawPath, headers, body));
            SigV4Verifier.Failure denied = verifier.verify(ex.getRequestMethod(), rawPath,
                    ex.getRequestURI().getRawQuery(), headers, raw);
            if (denied != null) {
                sendError(ex, 403, denied.errorType(), denied.message(), null);
                return;
            }
            Matcher m = PATH.matcher(rawPath);
            if (!m.matches()) {
                sendError(ex, 404, "UnknownOperationException", null, null);
                return;
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                sendError(ex, 405, "UnknownOperationException", null, null);
                return;
            }
            if (body.isMissingNode() || !body.isObject()) {
                sendError(ex, 400, "SerializationException", "Start of structure or map found where not expected.",
                        null);
                return;
            }
            String model = URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
            String operation = m.group(2);
            if ("invoke".equals(operation)) {
                embed(ex, model, body);
                return;
            }
            String invalid = validateConverse(body);
            if (invalid != null) {
                sendError(ex, 400, "ValidationException", invalid, null);
                return;
            }
            int promptWords = promptWords(body);
            if (promptWords > maxInputWords) {
                sendError(ex, 400, "ValidationException", "Input is too long for requested model.", null);
                return;
            }
            BedrockBehaviour b = queue.poll();
            if (b == null) {
                b = BedrockBehaviour.echo();
            }
            if (b.kind == BedrockBehaviour.Kind.HTTP_ERROR) {
                sendError(ex, b.status, b.errorType, b.errorMessage, b.retryAfterSeconds);
                return;
            }
            String text = b.kind == BedrockBehaviour.Kind.ECHO ? "echo: " + lastUserText(body) : b.text;
            if ("converse".equals(operation)) {
                converse(ex, b, text, promptWords);
            } else {
                closeExchange = converseStream(ex, b, text, promptWords);
            }
        } catch (StreamCut cut) {
            // Escaping the handler makes HttpServer drop the connection without the chunked terminator: a cut stream.
            closeExchange = false;
            throw cut;
        } finally {
            inFlight.decrementAndGet();
            if (closeExchange) {
                ex.close();
            }
        }
    }

    /** The checks Converse makes on a request's shape before a model sees it. */
    static String validateConverse(JsonNode body) {
        JsonNode messages = body.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            return "1 validation error detected: Value at 'messages' failed to satisfy constraint: Member must not "
                    + "be null";
        }
        String previous = null;
        Set<String> previousToolUses = new HashSet<>();
        boolean toolBlocks = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode msg = messages.get(i);
            String role = msg.path("role").asText("");
            if (!role.equals("user") && !role.equals("assistant")) {
                return "1 validation error detected: Value '" + role + "' at 'messages." + (i + 1)
                        + ".member.role' failed to satisfy constraint: Member must satisfy enum value set: "
                        + "[user, assistant]";
            }
            if (i == 0 && !role.equals("user")) {
                return "A conversation must start with a user message. Try again with a conversation that starts "
                        + "with a user message.";
            }
            if (role.equals(previous)) {
                return "A conversation must alternate between user and assistant roles. Make sure the conversation "
                        + "alternates between user and assistant roles and try again.";
            }
            previous = role;
            JsonNode content = msg.path("content");
            if (!content.isArray() || content.isEmpty()) {
                return "The content field in the Message object at messages." + i + " is empty. Add a ContentBlock "
                        + "object to the content field and try again.";
            }
            Set<String> toolUses = new HashSet<>();
            int results = 0;
            for (JsonNode block : content) {
                if (block.size() != 1) {
                    return "Exactly one member of a ContentBlock union must be set at messages." + i + ".";
                }
                if (block.has("text")) {
                    if (block.path("text").asText("").isBlank()) {
                        return "The text field in the ContentBlock object at messages." + i + " is blank. Add text "
                                + "to the text field, and try again.";
                    }
                } else if (block.has("image")) {
                    JsonNode image = block.path("image");
                    if (!IMAGE_FORMATS.contains(image.path("format").asText(""))) {
                        return "1 validation error detected: Value '" + image.path("format").asText("")
                                + "' at 'messages." + (i + 1) + ".member.content.member.image.format' failed to "
                                + "satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]";
                    }
                    try {
                        if (Base64.getDecoder().decode(image.path("source").path("bytes").asText("")).length == 0) {
                            return "The image at messages." + i + " is empty.";
                        }
                    } catch (IllegalArgumentException e) {
                        return "Invalid base64 image bytes at messages." + i + ".";
                    }
                    if (!role.equals("user")) {
                        return "Images are only allowed in user messages.";
                    }
                } else if (block.has("toolUse")) {
                    toolBlocks = true;
                    if (!role.equals("assistant")) {
                        return "toolUse blocks are only allowed in assistant messages.";
                    }
                    JsonNode use = block.path("toolUse");
                    if (use.path("toolUseId").asText("").isEmpty() || use.path("name").asText("").isEmpty()
                            || !use.path("input").isObject()) {
                        return "A toolUse block needs toolUseId, name and an input object.";
                    }
                    toolUses.add(use.path("toolUseId").asText());
                } else if (block.has("toolResult")) {
                    toolBlocks = true;
                    results++;
                    JsonNode result = block.path("toolResult");
                    if (!previousToolUses.contains(result.path("toolUseId").asText(""))) {
                        return "The toolUseId " + result.path("toolUseId").asText("") + " in the toolResult at "
                                + "messages." + i + " does not match a toolUse of the previous turn.";
                    }
                    if (!result.path("content").isArray() || result.path("content").isEmpty()) {
                        return "The content of the toolResult at messages." + i + " is empty.";
                    }
                } else {
                    return "The ContentBlock at messages." + i + " has an unsupported member "
                            + block.fieldNames().next() + ".";
                }
            }
            if (results > previousToolUses.size()) {
                return "The number of toolResult blocks at messages." + i + ".content exceeds the number of toolUse "
                        + "blocks of previous turn.";
            }
            previousToolUses = toolUses;
        }
        JsonNode toolConfig = body.path("toolConfig");
        if (toolBlocks && toolConfig.isMissingNode()) {
            return "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
        }
        if (!toolConfig.isMissingNode()) {
            JsonNode tools = toolConfig.path("tools");
            if (!tools.isArray() || tools.isEmpty()) {
                return "The value at toolConfig.tools must not be empty.";
            }
            Set<String> names = new HashSet<>();
            for (JsonNode t : tools) {
                JsonNode spec = t.path("toolSpec");
                if (spec.path("name").asText("").isEmpty() || !spec.path("inputSchema").path("json").isObject()) {
                    return "A toolSpec needs a name and inputSchema.json.";
                }
                names.add(spec.path("name").asText());
            }
            JsonNode choice = toolConfig.path("toolChoice");
            if (!choice.isMissingNode()) {
                if (choice.size() != 1 || !(choice.has("auto") || choice.has("any") || choice.has("tool"))) {
                    return "Exactly one of auto, any or tool must be set in toolChoice.";
                }
                if (choice.has("tool") && !names.contains(choice.path("tool").path("name").asText(""))) {
                    return "The tool named in toolChoice is not among the tools.";
                }
            }
        }
        JsonNode inference = body.path("inferenceConfig");
        if (inference.has("maxTokens") && inference.path("maxTokens").asInt(0) < 1) {
            return "The maximum tokens you requested must be at least 1.";
        }
        for (String f : List.of("temperature", "topP")) {
            if (inference.has(f)) {
                double v = inference.path(f).asDouble(-1);
                if (v < 0 || v > 1) {
                    return "1 validation error detected: Value at 'inferenceConfig." + f
                            + "' failed to satisfy constraint: Member must have value between 0 and 1";
                }
            }
        }
        JsonNode format = body.path("outputConfig").path("textFormat");
        if (!format.isMissingNode()) {
            if (!"json_schema".equals(format.path("type").asText(""))) {
                return "outputConfig.textFormat.type must be json_schema.";
            }
            String schema = format.path("structure").path("jsonSchema").path("schema").asText(null);
            try {
                if (schema == null || !JSON.readTree(schema).isObject()) {
                    return "outputConfig.textFormat.structure.jsonSchema.schema must be a JSON schema object.";
                }
            } catch (IOException e) {
                return "outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON.";
            }
        }
        return null;
    }

    private void converse(HttpExchange ex, BedrockBehaviour b, String text, int promptWords) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode message = root.putObject("output").putObject("message").put("role", "assistant");
        ArrayNode content = message.putArray("content");
        if (text != null && !text.isEmpty()) {
            content.addObject().put("text", text);
        }
        for (BedrockBehaviour.ToolUse use : b.toolUses) {
            ObjectNode t = content.addObject().putObject("toolUse").put("toolUseId", use.id()).put("name", use.name());
            t.set("input", JSON.readTree(use.inputJson()));
        }
        root.put("stopReason", stopReason(b));
        usage(root, promptWords, words(text).size() + b.toolUses.size(), b);
        root.putObject("metrics").put("latencyMs", 42);
        sendJson(ex, 200, root);
    }

    /** Streams the answer; returns false when the exchange must not be closed cleanly. */
    private boolean converseStream(HttpExchange ex, BedrockBehaviour b, String text, int promptWords)
            throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/vnd.amazon.eventstream");
        ex.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        Duration pause = b.tokenDelay != null ? b.tokenDelay : tokenDelay;
        try {
            pause(b.firstEventDelay);
            write(out, EventStreamEncoder.event("messageStart", payload("{\"role\":\"assistant\"}")));
            List<String> pieces = words(text);
            int sent = 0;
            int deltas = 0;
            for (String piece : pieces) {
                if (checkpoint(out, b, sent)) {
                    return true;
                }
                if (sent > 0) {
                    pause(pause);
                }
                write(out, EventStreamEncoder.event("contentBlockDelta",
                        payload("{\"contentBlockIndex\":0,\"delta\":{\"text\":" + quote(piece) + "}}")));
                sent++;
                deltas++;
            }
            if (checkpoint(out, b, sent)) {
                return true;
            }
            int index = 0;
            if (!pieces.isEmpty()) {
                write(out, EventStreamEncoder.event("contentBlockStop", payload("{\"contentBlockIndex\":0}")));
                index = 1;
            }
            for (BedrockBehaviour.ToolUse use : b.toolUses) {
                write(out, EventStreamEncoder.event("contentBlockStart", payload("{\"contentBlockIndex\":" + index
                        + ",\"start\":{\"toolUse\":{\"toolUseId\":" + quote(use.id()) + ",\"name\":"
                        + quote(use.name()) + "}}}")));
                String input = JSON.writeValueAsString(JSON.readTree(use.inputJson()));
                for (String fragment : b.inputPieces(input)) {
                    if (deltas > 0) {
                        pause(pause);
                    }
                    write(out, EventStreamEncoder.event("contentBlockDelta", payload("{\"contentBlockIndex\":" + index
                            + ",\"delta\":{\"toolUse\":{\"input\":" + quote(fragment) + "}}}")));
                    deltas++;
                }
                write(out, EventStreamEncoder.event("contentBlockStop",
                        payload("{\"contentBlockIndex\":" + index + "}")));
                index++;
            }
            if (!b.endWithoutStop) {
                write(out, EventStreamEncoder.event("messageStop",
                        payload("{\"stopReason\":" + quote(stopReason(b)) + "}")));
                ObjectNode meta = JSON.createObjectNode();
                usage(meta, promptWords, deltas, b);
                meta.putObject("metrics").put("latencyMs", 42);
                write(out, EventStreamEncoder.event("metadata", payload(JSON.writeValueAsString(meta))));
            }
            out.close();
            completedStreams.incrementAndGet();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    /** Cuts, corrupts or fails the stream when the behaviour says so at {@code sent} deltas; true when it ended. */
    private static boolean checkpoint(OutputStream out, BedrockBehaviour b, int sent) throws IOException {
        if (sent == b.cutAfter) {
            cut();
        }
        if (sent == b.malformedAfter) {
            byte[] frame = b.malformation == BedrockBehaviour.Malformation.BAD_CRC
                    ? EventStreamEncoder.corrupt(EventStreamEncoder.event("contentBlockDelta",
                            payload("{\"contentBlockIndex\":0,\"delta\":{\"text\":\" broken\"}}")))
                    : EventStreamEncoder.event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{not json");
            write(out, frame);
            pause(CUT_PAUSE);
            out.close();
            return true;
        }
        if (sent == b.exceptionAfter) {
            write(out, EventStreamEncoder.exception(b.exceptionType, b.exceptionMessage));
            out.close();
            return true;
        }
        return false;
    }

    private void embed(HttpExchange ex, String model, JsonNode body) throws IOException {
        if (!model.startsWith("amazon.titan-embed-text")) {
            sendError(ex, 400, "ValidationException", "The provided model identifier is invalid.", null);
            return;
        }
        String input = body.path("inputText").asText("");
        if (input.isEmpty()) {
            sendError(ex, 400, "ValidationException", "Malformed input request: #: required key [inputText] not "
                    + "found, please reformat your input and try again.", null);
            return;
        }
        boolean v2 = model.startsWith("amazon.titan-embed-text-v2");
        int dims = v2 ? body.path("dimensions").asInt(1024) : 1536;
        if (v2 && dims != 256 && dims != 512 && dims != 1024) {
            sendError(ex, 400, "ValidationException", "Malformed input request: #/dimensions: " + dims
                    + " is not a valid enum value, please reformat your input and try again.", null);
            return;
        }
        if (!v2 && (body.has("dimensions") || body.has("normalize"))) {
            sendError(ex, 400, "ValidationException", "Malformed input request: extraneous key [dimensions] is not "
                    + "permitted, please reformat your input and try again.", null);
            return;
        }
        boolean normalize = !v2 || body.path("normalize").asBoolean(true);
        double[] v = new double[dims];
        long seed = input.hashCode();
        double norm = 0;
        for (int i = 0; i < dims; i++) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            v[i] = ((seed >>> 11) / (double) (1L << 53)) * 2 - 1;
            norm += v[i] * v[i];
        }
        ObjectNode root = JSON.createObjectNode();
        ArrayNode emb = root.putArray("embedding");
        for (double d : v) {
            emb.add(normalize ? d / Math.sqrt(norm) : d);
        }
        int tokens = words(input).size();
        root.put("inputTextTokenCount", tokens);
        ex.getResponseHeaders().set("X-Amzn-Bedrock-Input-Token-Count", Integer.toString(tokens));
        sendJson(ex, 200, root);
    }

    private static String stopReason(BedrockBehaviour b) {
        if (b.stopReason != null) {
            return b.stopReason;
        }
        return b.toolUses.isEmpty() ? "end_turn" : "tool_use";
    }

    private static void usage(ObjectNode root, int input, int output, BedrockBehaviour b) {
        ObjectNode u = root.putObject("usage").put("inputTokens", input).put("outputTokens", output)
                .put("totalTokens", input + output + b.cacheReadTokens + b.cacheWriteTokens);
        if (b.cacheReadTokens > 0 || b.cacheWriteTokens > 0) {
            u.put("cacheReadInputTokens", b.cacheReadTokens).put("cacheWriteInputTokens", b.cacheWriteTokens);
        }
    }

    /** Adds the {@code p} padding field the service puts into every event payload. */
    private static String payload(String json) {
        return json.substring(0, json.length() - 1) + ",\"p\":\"abcdefghijklmnopqrstuvwxyzABCDEFGH\"}";
    }

    private void sendError(HttpExchange ex, int status, String type, String message, Long retryAfter)
            throws IOException {
        ex.getResponseHeaders().set("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/");
        ex.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
        if (retryAfter != null) {
            ex.getResponseHeaders().set("Retry-After", Long.toString(retryAfter));
        }
        ObjectNode body = JSON.createObjectNode();
        if (message != null) {
            body.put("message", message);
        }
        sendJson(ex, status, body);
    }

    private static void sendJson(HttpExchange ex, int status, JsonNode node) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(node);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (ex.getResponseHeaders().getFirst("x-amzn-RequestId") == null) {
            ex.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void write(OutputStream out, byte[] frame) throws IOException {
        out.write(frame);
        out.flush();
    }

    private static int promptWords(JsonNode body) {
        int n = 0;
        for (JsonNode s : body.path("system")) {
            n += words(s.path("text").asText("")).size();
        }
        for (JsonNode m : body.path("messages")) {
            for (JsonNode block : m.path("content")) {
                n += words(block.path("text").asText("")).size();
            }
        }
        return n;
    }

    private static String lastUserText(JsonNode body) {
        String last = "";
        for (JsonNode m : body.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                StringBuilder sb = new StringBuilder();
                for (JsonNode block : m.path("content")) {
                    if (block.has("text")) {
                        sb.append(block.path("text").asText());
                    }
                }
                last = sb.toString();
            }
        }
        return last;
    }

    /** Pieces that concatenate back to the text, each keeping its leading whitespace. */
    static List<String> words(String text) {
        if (text == null || text.isEmpty()) {
            return List.of();
        }
        return Arrays.asList(text.split("(?<=\\S)(?=\\s)"));
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The texts of the user messages' text blocks of a recorded request, for tests. */
    public static List<String> texts(JsonNode body) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : body.path("messages")) {
            for (JsonNode block : m.path("content")) {
                if (block.has("text")) {
                    out.add(block.path("text").asText());
                }
            }
        }
        return out;
    }
}

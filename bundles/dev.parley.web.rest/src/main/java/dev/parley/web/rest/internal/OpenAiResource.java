package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.web.rest.internal.OpenAiBodies.AssistantMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletion;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletionRequest;
import dev.parley.web.rest.internal.OpenAiBodies.Choice;
import dev.parley.web.rest.internal.OpenAiBodies.Chunk;
import dev.parley.web.rest.internal.OpenAiBodies.ChunkChoice;
import dev.parley.web.rest.internal.OpenAiBodies.Delta;
import dev.parley.web.rest.internal.OpenAiBodies.FunctionCall;
import dev.parley.web.rest.internal.OpenAiBodies.ModelEntry;
import dev.parley.web.rest.internal.OpenAiBodies.ModelList;
import dev.parley.web.rest.internal.OpenAiBodies.RequestMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ToolCallBody;
import dev.parley.web.rest.internal.OpenAiBodies.ToolDefinition;
import dev.parley.web.rest.internal.OpenAiBodies.UsageBody;
import dev.parley.web.rest.internal.StreamEvents.CompletionDone;
import dev.parley.web.rest.internal.StreamEvents.Event;
import dev.parley.web.rest.internal.StreamEvents.Failed;
import dev.parley.web.rest.internal.StreamEvents.Token;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The OpenAI-compatible API, so existing OpenAI clients and SDKs can talk to Parley. Completions are stateless:
 * nothing is persisted.
 */
@Component(service = Object.class, configurationPid = RestConfig.PID)
@JakartarsResource
@JakartarsName("parley.rest.openai")
@JSONRequired
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class OpenAiResource {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiResource.class);

    private final ChatService chat;
    private final RestLimits limits;
    private final ObjectMapper mapper = JsonMapping.newMapper();
    private final InFlightRequests inFlight = new InFlightRequests();

    @Activate
    public OpenAiResource(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    OpenAiResource(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.limits = limits;
    }

    @GET
    @Path("models")
    public ModelList models() {
        return new ModelList("list", chat.models().stream()
                .map(m -> new ModelEntry(m.id(), "model", 0, m.providerId())).toList());
    }

    @POST
    @Path("chat/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, SseStream.EVENT_STREAM})
    public Response complete(ChatCompletionRequest body) throws InterruptedException {
        if (body == null) {
            throw invalid("The request body must be a JSON object.");
        }
        // Blank means "the server's default model"; core resolves it.
        String model = body.model() == null ? "" : body.model();
        ChatRequest request = new ChatRequest(model, messages(body.messages()), options(body), tools(body.tools()));
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = Instant.now().getEpochSecond();
        StreamEvents events = new StreamEvents();
        return inFlight.serve(onStreamEnd -> {
            StreamHandle handle = chat.complete(request, events);
            if (Boolean.TRUE.equals(body.stream())) {
                boolean includeUsage = body.streamOptions() != null && Boolean.TRUE.equals(body.streamOptions().includeUsage());
                return new SseStream(events, handle, limits, mapper, new ChunkRenderer(id, created, model, includeUsage),
                        onStreamEnd).response();
            }
            ChatResponse response = await(events, handle);
            String answeredBy = response.model() == null ? model : response.model();
            List<ToolCallBody> toolCalls = toolCalls(response.toolCalls(), false);
            ChatCompletion completion = new ChatCompletion(id, "chat.completion", created, answeredBy,
                    List.of(new Choice(0, new AssistantMessage("assistant", response.text(), toolCalls),
                            RestBodies.finishReason(response.finishReason()))),
                    usage(response.usage()));
            return Response.ok(completion, MediaType.APPLICATION_JSON_TYPE).build();
        });
    }

    /** Server shutdown: refuse new completions, let running ones finish (bounded). */
    @Deactivate
    void deactivate() throws InterruptedException {
        InFlightRequests.drain(inFlight, limits, "openai", LOG);
    }

    private ChatResponse await(StreamEvents events, StreamHandle handle) throws InterruptedException {
        long deadline = System.nanoTime() + limits.requestTimeout().toNanos();
        try {
            while (true) {
                Event event = events.next(Duration.ofNanos(deadline - System.nanoTime()));
                if (event == null) {
                    handle.cancel();
                    throw new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                            "No complete answer within " + limits.requestTimeout().toSeconds() + " seconds.");
                }
                if (event instanceof CompletionDone done) {
                    return done.response();
                }
                if (event instanceof Failed failed) {
                    throw failed.error();
                }
            }
        } catch (InterruptedException e) {
            handle.cancel();
            throw e;
        }
    }

    /** Writes chat.completion.chunk frames as OpenAI streams them. */
    private record ChunkRenderer(String id, long created, String model, boolean includeUsage)
            implements SseStream.Renderer {
        @Override
        public void start(SseStream.Sink out) throws IOException {
            out.data(chunk(new Delta("assistant", null, null), null));
        }

        @Override
        public boolean render(Event event, SseStream.Sink out) throws IOException {
            if (event instanceof Token t) {
                out.data(chunk(new Delta(null, t.delta(), null), null));
            } else if (event instanceof CompletionDone done) {
                ChatResponse r = done.response();
                List<ToolCallBody> calls = toolCalls(r.toolCalls(), true);
                if (!calls.isEmpty()) {
                    out.data(chunk(new Delta(null, null, calls), null));
                }
                out.data(chunk(new Delta(null, null, null), RestBodies.finishReason(r.finishReason())));
                if (includeUsage) {
                    out.data(new Chunk(id, "chat.completion.chunk", created, modelOf(r), List.of(), usage(r.usage())));
                }
                out.rawData("[DONE]");
                return true;
            } else if (event instanceof Failed failed) {
                // OpenAI's convention: an error object, then close without [DONE].
                out.data(ErrorResponses.Failure.of(failed.error()).openAi());
                return true;
            }
            return false;
        }

        private Chunk chunk(Delta delta, String finishReason) {
            return new Chunk(id, "chat.completion.chunk", created, model, List.of(new ChunkChoice(0, delta, finishReason)),
                    null);
        }

        private String modelOf(ChatResponse r) {
            return r.model() == null ? model : r.model();
        }
    }

    private static UsageBody usage(Usage u) {
        Usage usage = u == null ? Usage.ZERO : u;
        return new UsageBody(usage.promptTokens(), usage.completionTokens(), usage.totalTokens());
    }

    private static List<ToolCallBody> toolCalls(List<ToolCall> calls, boolean indexed) {
        List<ToolCallBody> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            out.add(new ToolCallBody(indexed ? i : null, c.id(), "function", new FunctionCall(c.name(), c.argumentsJson())));
        }
        return out;
    }

    private static List<ChatMessage> messages(List<RequestMessage> messages) {
        if (messages == null || messages.isEmpty()) {
            throw invalid("'messages' must be a non-empty array.");
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            RequestMessage m = messages.get(i);
            if (m == null || m.role() == null) {
                throw invalid("'messages[" + i + "].role' is required.");
            }
            String content = content(m.content(), i);
            Role role = switch (m.role().toLowerCase(Locale.ROOT)) {
                case "system", "developer" -> Role.SYSTEM;
                case "user" -> Role.USER;
                case "assistant" -> Role.ASSISTANT;
                case "tool" -> Role.TOOL;
                default -> throw invalid("'messages[" + i + "].role' must be one of system, developer, user, assistant, tool.");
            };
            List<ToolCall> calls = new ArrayList<>();
            if (m.toolCalls() != null) {
                for (ToolCallBody c : m.toolCalls()) {
                    if (c == null || c.function() == null || c.function().name() == null) {
                        throw invalid("'messages[" + i + "].tool_calls' entries need function.name.");
                    }
                    calls.add(new ToolCall(c.id(), c.function().name(), c.function().arguments()));
                }
            }
            if (role == Role.TOOL && m.toolCallId() == null) {
                throw invalid("'messages[" + i + "].tool_call_id' is required for tool messages.");
            }
            out.add(new ChatMessage(role, content, calls, m.toolCallId()));
        }
        return out;
    }

    /** A string, null, or an array of {type:"text", text} parts (joined). */
    private static String content(JsonNode content, int i) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (content.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw invalid("'messages[" + i + "].content' parts must be {\"type\":\"text\",\"text\":string}.");
                }
                sb.append(part.get("text").textValue());
            }
            return sb.toString();
        }
        throw invalid("'messages[" + i + "].content' must be a string or an array of text parts.");
    }

    private static ChatOptions options(ChatCompletionRequest body) {
        if (body.n() != null && body.n() != 1) {
            throw invalid("Only 'n' = 1 is supported.");
        }
        Integer maxTokens = body.maxCompletionTokens() != null ? body.maxCompletionTokens() : body.maxTokens();
        if (maxTokens != null && maxTokens <= 0) {
            throw invalid("'max_tokens' must be positive.");
        }
        List<String> stop = new ArrayList<>();
        JsonNode s = body.stop();
        if (s != null && !s.isNull()) {
            if (s.isTextual()) {
                stop.add(s.textValue());
            } else if (s.isArray()) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) {
                        throw invalid("'stop' must be a string or an array of strings.");
                    }
                    stop.add(e.textValue());
                }
            } else {
                throw invalid("'stop' must be a string or an array of strings.");
            }
        }
        return new ChatOptions(body.temperature(), body.topP(), maxTokens, stop);
    }

    private static List<ToolSpec> tools(List<ToolDefinition> tools) {
        if (tools == null) {
            return List.of();
        }
        List<ToolSpec> out = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            ToolDefinition t = tools.get(i);
            if (t == null || !"function".equals(t.type()) || t.function() == null || t.function().name() == null) {
                throw invalid("'tools[" + i + "]' must be {\"type\":\"function\",\"function\":{\"name\",...}}.");
            }
            JsonNode params = t.function().parameters();
            out.add(new ToolSpec(t.function().name(), t.function().description(),
                    params == null || params.isNull() ? null : params.toString()));
        }
        return out;
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}

package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.api.chat.Chat;
import dev.parley.api.chat.ChatService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletionRequest;
import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Instant;
import java.util.UUID;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/chat/completions}, the OpenAI-compatible hot path, as a plain async servlet on the HTTP
 * whiteboard rather than a Jakarta REST resource: no per-request reflection or provider lookup, no thread held while
 * the model thinks (see {@link CompletionExchange}), token frames written from pre-encoded bytes (ADR 7). The exact
 * servlet pattern wins over the REST application's {@code /*} in the same servlet context.
 */
@Component(service = Servlet.class, configurationPid = RestConfig.PID)
@HttpWhiteboardServletPattern(ChatCompletionsServlet.PATH)
@HttpWhiteboardServletName("parley-openai-chat-completions")
@HttpWhiteboardServletAsyncSupported
public class ChatCompletionsServlet extends HttpServlet {
    static final String PATH = "/v1/chat/completions";
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ChatCompletionsServlet.class);

    private final transient ChatService chat;
    private final transient ObjectMapper mapper = JsonMapping.newMapper();
    private final transient ObjectReader requestReader = mapper.readerFor(ChatCompletionRequest.class);
    private final transient AsyncRequests requests;

    @Activate
    public ChatCompletionsServlet(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    ChatCompletionsServlet(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.requests = new AsyncRequests("completions", limits, LOG);
    }

    InFlightRequests inFlight() {
        return requests.inFlight();
    }

    /** Server shutdown: refuse new completions, let running ones finish (bounded), then end the rest. */
    @Deactivate
    void deactivate() throws InterruptedException {
        requests.drain();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!"POST".equals(req.getMethod())) {
            resp.setHeader("Allow", "POST");
            refuse(resp, new ErrorResponses.Failure(405, ErrorCode.INVALID_REQUEST, "Method not allowed",
                    "Use POST for " + PATH + ".", null));
            return;
        }
        ChatCompletionRequest body;
        ChatRequest request;
        Chat caller;
        try {
            caller = chat.as(Callers.of(req));
            body = requests.readJson(req, requestReader);
            request = OpenAiRequests.chatRequest(body);
            requests.enter();
        } catch (AsyncRequests.Refused r) {
            refuse(resp, r.failure, r.closeConnection);
            return;
        } catch (ParleyException e) {
            refuse(resp, ErrorResponses.Failure.of(e));
            return;
        }
        boolean stream = Boolean.TRUE.equals(body.stream());
        boolean includeUsage = body.streamOptions() != null && Boolean.TRUE.equals(body.streamOptions().includeUsage());
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        ChunkFrames frames = new ChunkFrames(mapper, id, Instant.now().getEpochSecond(), request.model());
        requests.start(req, (async, limits, onEnd) -> new CompletionExchange(async, mapper, frames, stream, includeUsage,
                limits, onEnd), exchange -> stream ? caller.complete(request, exchange)
                        // Not streamed to the client: not streamed from upstream either, where the provider can.
                        : caller.completeWhole(request, exchange));
    }

    private void refuse(HttpServletResponse resp, ErrorResponses.Failure failure) throws IOException {
        refuse(resp, failure, false);
    }

    private void refuse(HttpServletResponse resp, ErrorResponses.Failure failure, boolean closeConnection)
            throws IOException {
        AsyncRequests.refuse(resp, failure, "application/json", mapper.writeValueAsBytes(failure.openAi()), closeConnection);
    }
}

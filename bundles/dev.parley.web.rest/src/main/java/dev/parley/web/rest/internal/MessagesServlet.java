package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.api.chat.Chat;
import dev.parley.api.chat.ChatService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.web.rest.internal.AnthropicBodies.MessagesRequest;
import dev.parley.web.rest.internal.AnthropicBodies.TokenCount;
import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
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
 * The Anthropic-compatible Messages API: {@code POST /v1/messages} (streamed as Anthropic's SSE events, or one
 * message) and {@code POST /v1/messages/count_tokens}, for any model behind Parley's router, so Anthropic's SDKs and
 * the tools built on them talk to Parley unchanged. An async servlet like {@link ChatCompletionsServlet} (ADR 7);
 * errors in Anthropic's shape ({@code {"type":"error","error":{"type","message"}}}).
 */
@Component(service = Servlet.class, configurationPid = RestConfig.PID)
@HttpWhiteboardServletPattern({MessagesServlet.PATH, MessagesServlet.COUNT_PATH})
@HttpWhiteboardServletName("parley-anthropic-messages")
@HttpWhiteboardServletAsyncSupported
public class MessagesServlet extends HttpServlet {
    static final String PATH = "/v1/messages";
    static final String COUNT_PATH = "/v1/messages/count_tokens";
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(MessagesServlet.class);

    private final transient ChatService chat;
    private final transient ObjectMapper mapper = JsonMapping.newMapper();
    private final transient ObjectReader requestReader = mapper.readerFor(MessagesRequest.class);
    private final transient AsyncRequests requests;

    @Activate
    public MessagesServlet(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    MessagesServlet(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.requests = new AsyncRequests("messages", limits, LOG);
    }

    /** Server shutdown: refuse new requests, let running ones finish (bounded), then end the rest. */
    @Deactivate
    void deactivate() throws InterruptedException {
        requests.drain();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getServletPath();
        if (!"POST".equals(req.getMethod())) {
            resp.setHeader("Allow", "POST");
            refuse(resp, new ErrorResponses.Failure(405, ErrorCode.INVALID_REQUEST, "Method not allowed",
                    "Use POST for " + path + ".", null), false);
            return;
        }
        boolean count = COUNT_PATH.equals(path);
        MessagesRequest body;
        ChatRequest request;
        Chat caller;
        try {
            caller = chat.as(Callers.of(req));
            body = requests.readJson(req, requestReader);
            request = AnthropicRequests.chatRequest(body, count);
            if (count) {
                countTokens(caller, request, resp);
                return;
            }
            requests.enter();
        } catch (AsyncRequests.Refused r) {
            refuse(resp, r.failure, r.closeConnection);
            return;
        } catch (ParleyException e) {
            refuse(resp, ErrorResponses.Failure.of(e), false);
            return;
        }
        boolean stream = Boolean.TRUE.equals(body.stream());
        MessageEvents events = new MessageEvents(mapper, "msg_" + UUID.randomUUID().toString().replace("-", ""),
                request.model());
        requests.start(req, (async, limits, onEnd) -> new MessagesExchange(async, mapper, events, stream, limits, onEnd),
                exchange -> stream ? caller.complete(request, exchange) : caller.completeWhole(request, exchange));
    }

    private void countTokens(Chat caller, ChatRequest request, HttpServletResponse resp) throws IOException {
        byte[] json = mapper.writeValueAsBytes(new TokenCount(caller.estimateInputTokens(request)));
        resp.setStatus(HttpServletResponse.SC_OK);
        resp.setContentType("application/json");
        resp.setContentLength(json.length);
        resp.getOutputStream().write(json);
    }

    private void refuse(HttpServletResponse resp, ErrorResponses.Failure failure, boolean closeConnection)
            throws IOException {
        ErrorResponses.Failure shaped = failure.withStatus(AnthropicRequests.status(failure));
        AsyncRequests.refuse(resp, shaped, "application/json", mapper.writeValueAsBytes(AnthropicRequests.error(failure)),
                closeConnection);
    }
}

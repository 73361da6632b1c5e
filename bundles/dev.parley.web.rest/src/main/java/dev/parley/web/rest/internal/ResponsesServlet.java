package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.api.chat.Chat;
import dev.parley.api.chat.ChatService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
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
 * {@code POST /v1/responses}, the OpenAI Responses API for text (and images in) and function tools, streamed as its
 * documented events or answered whole; a plain async servlet like {@link ChatCompletionsServlet} (ADR 7). Stateless:
 * nothing is stored, so {@code previous_response_id} is refused.
 */
@Component(service = Servlet.class, configurationPid = RestConfig.PID)
@HttpWhiteboardServletPattern(ResponsesServlet.PATH)
@HttpWhiteboardServletName("parley-openai-responses")
@HttpWhiteboardServletAsyncSupported
public class ResponsesServlet extends HttpServlet {
    static final String PATH = "/v1/responses";
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ResponsesServlet.class);

    private final transient ChatService chat;
    private final transient ObjectMapper mapper = JsonMapping.newMapper();
    private final transient ObjectReader requestReader = mapper.readerFor(ResponsesRequests.ResponsesRequest.class);
    private final transient AsyncRequests requests;

    @Activate
    public ResponsesServlet(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    ResponsesServlet(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.requests = new AsyncRequests("responses", limits, LOG);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        requests.drain();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!"POST".equals(req.getMethod())) {
            resp.setHeader("Allow", "POST");
            refuse(resp, new ErrorResponses.Failure(405, ErrorCode.INVALID_REQUEST, "Method not allowed",
                    "Use POST for " + PATH + ".", null), false);
            return;
        }
        ResponsesRequests.ResponsesRequest body;
        ResponsesRequests.Mapped mapped;
        Chat caller;
        try {
            caller = chat.as(Callers.of(req));
            body = requests.readJson(req, requestReader);
            mapped = ResponsesRequests.chatRequest(body);
            requests.enter();
        } catch (AsyncRequests.Refused r) {
            refuse(resp, r.failure, r.closeConnection);
            return;
        } catch (ParleyException e) {
            refuse(resp, ErrorResponses.Failure.of(e), false);
            return;
        }
        ChatRequest request = mapped.request();
        boolean stream = Boolean.TRUE.equals(body.stream());
        String hex = UUID.randomUUID().toString().replace("-", "");
        ResponseFrames frames = new ResponseFrames(mapper, "resp_" + hex, "msg_" + hex, Instant.now().getEpochSecond(),
                request.model(), body);
        requests.start(req, (async, limits, onEnd) -> new ResponsesExchange(async, mapper, frames, stream, limits, onEnd),
                exchange -> {
                    try {
                        return stream ? caller.complete(request, exchange) : caller.completeWhole(request, exchange);
                    } catch (ParleyException e) {
                        throw mapped.inResponsesTerms(e);
                    }
                });
    }

    private void refuse(HttpServletResponse resp, ErrorResponses.Failure failure, boolean closeConnection)
            throws IOException {
        AsyncRequests.refuse(resp, failure, "application/json", mapper.writeValueAsBytes(failure.openAi()), closeConnection);
    }
}

package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.api.chat.Chat;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.StreamHandle;
import dev.parley.web.rest.internal.RestBodies.SendMessageBody;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The native chat turn, {@code POST /api/v1/conversations/{id}/messages}, served in servlet async mode ahead of the
 * REST application: streamed as Server-Sent Events ({@code Accept: text/event-stream} or {@code ?stream=true}) or
 * answered as JSON at the end, without a thread waiting for the model (ADR 7). Every other conversation route goes
 * on to the REST resources.
 */
@Component(service = Filter.class, configurationPid = RestConfig.PID)
@HttpWhiteboardFilterPattern("/api/v1/conversations/*")
@HttpWhiteboardFilterName("parley-conversation-turns")
@HttpWhiteboardFilterAsyncSupported
public class TurnFilter implements Filter {
    private static final Logger LOG = LoggerFactory.getLogger(TurnFilter.class);
    private static final String PREFIX = "/api/v1/conversations/";
    private static final String SUFFIX = "/messages";

    private final ChatService chat;
    private final ObjectMapper mapper = JsonMapping.newMapper();
    private final ObjectReader bodyReader = mapper.readerFor(SendMessageBody.class);
    private final AsyncRequests requests;

    @Activate
    public TurnFilter(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    TurnFilter(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.requests = new AsyncRequests("turns", limits, LOG);
    }

    InFlightRequests inFlight() {
        return requests.inFlight();
    }

    /** Server shutdown: refuse new turns, let running ones finish (bounded) while core and providers are still up. */
    @Deactivate
    void deactivate() throws InterruptedException {
        requests.drain();
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest req = (HttpServletRequest) request;
        String conversationId = "POST".equals(req.getMethod()) ? conversationId(req) : null;
        if (conversationId == null) {
            chain.doFilter(request, response);
            return;
        }
        serve(req, (HttpServletResponse) response, conversationId);
    }

    private void serve(HttpServletRequest req, HttpServletResponse resp, String conversationId) throws IOException {
        SendMessage message;
        Chat caller;
        try {
            caller = chat.as(Callers.of(req));
            message = message(requests.readJson(req, bodyReader));
            requests.enter();
        } catch (AsyncRequests.Refused r) {
            refuse(resp, r.failure, r.closeConnection);
            return;
        } catch (ParleyException e) {
            refuse(resp, ErrorResponses.Failure.of(e));
            return;
        }
        boolean stream = wantsStream(req);
        requests.start(req, (async, limits, onEnd) -> new TurnExchange(async, mapper, stream, limits, onEnd),
                exchange -> stream ? caller.send(conversationId, message, exchange)
                        // Answered as JSON at the end: the provider is asked for the answer in one call, where it can.
                        : caller.sendWhole(conversationId, message, exchange));
    }

    private static SendMessage message(SendMessageBody body) {
        if (body == null || body.content() == null || body.content().isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Field 'content' is required and must not be blank.");
        }
        if (body.maxTokens() != null && body.maxTokens() <= 0) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Field 'maxTokens' must be positive.");
        }
        ChatOptions options = body.temperature() == null && body.maxTokens() == null ? null
                : new ChatOptions(body.temperature(), null, body.maxTokens(), List.of());
        return new SendMessage(body.content(), body.model(), options);
    }

    /** The conversation of {@code POST /api/v1/conversations/{id}/messages}, else null (not a turn). */
    private static String conversationId(HttpServletRequest req) {
        String path = req.getRequestURI().substring(req.getContextPath().length());
        if (!path.startsWith(PREFIX) || !path.endsWith(SUFFIX) || path.length() <= PREFIX.length() + SUFFIX.length()) {
            return null;
        }
        String id = path.substring(PREFIX.length(), path.length() - SUFFIX.length());
        return id.indexOf('/') >= 0 ? null : URLDecoder.decode(id, StandardCharsets.UTF_8);
    }

    private static boolean wantsStream(HttpServletRequest req) {
        String stream = req.getParameter("stream");
        if (stream != null) {
            return Boolean.parseBoolean(stream);
        }
        var accept = req.getHeaders("Accept");
        while (accept.hasMoreElements()) {
            if (accept.nextElement().toLowerCase(Locale.ROOT).contains("text/event-stream")) {
                return true;
            }
        }
        return false;
    }

    private void refuse(HttpServletResponse resp, ErrorResponses.Failure failure) throws IOException {
        refuse(resp, failure, false);
    }

    private void refuse(HttpServletResponse resp, ErrorResponses.Failure failure, boolean closeConnection)
            throws IOException {
        AsyncRequests.refuse(resp, failure, ErrorResponses.PROBLEM_JSON, mapper.writeValueAsBytes(failure.problem()), closeConnection);
    }
}

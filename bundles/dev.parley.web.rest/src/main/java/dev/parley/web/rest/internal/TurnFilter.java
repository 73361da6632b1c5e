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
 * answered as JSON at the end, without a thread waiting for the model (ADR 7); and the resumption of a streamed
 * answer, {@code GET /api/v1/conversations/{id}/messages/{answerId}/stream} with {@code Last-Event-ID} (or
 * {@code ?after=}), from the stream log, on whichever node the client reaches. Every other conversation route goes
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
    private static final String STREAM_SUFFIX = "/stream";
    /** The longest event number a client may send back: a long's digits. */
    private static final int MAX_EVENT_ID_LENGTH = 18;

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
        if (conversationId != null) {
            serve(req, (HttpServletResponse) response, conversationId);
            return;
        }
        String[] answer = "GET".equals(req.getMethod()) ? answerStream(req) : null;
        if (answer != null) {
            resume(req, (HttpServletResponse) response, answer[0], answer[1]);
            return;
        }
        chain.doFilter(request, response);
    }

    /** A client that lost a streamed answer takes it up again after the last event it saw. */
    private void resume(HttpServletRequest req, HttpServletResponse resp, String conversationId, String answerId)
            throws IOException {
        Chat caller;
        long after;
        try {
            caller = chat.as(Callers.of(req));
            after = lastEventId(req);
            requests.enter();
        } catch (AsyncRequests.Refused r) {
            refuse(resp, r.failure, r.closeConnection);
            return;
        } catch (ParleyException e) {
            refuse(resp, ErrorResponses.Failure.of(e));
            return;
        }
        requests.start(req, (async, limits, onEnd) -> TurnExchange.resumed(async, mapper, after, limits, onEnd),
                exchange -> caller.resume(conversationId, answerId, after, exchange));
    }

    /** {@code Last-Event-ID}, else {@code ?after=}, else 0: the number of the last event the client has. */
    private static long lastEventId(HttpServletRequest req) {
        String header = req.getHeader("Last-Event-ID");
        String value = header != null ? header.strip() : req.getParameter("after");
        String name = header != null ? "Last-Event-ID" : "after";
        if (value == null || value.isEmpty()) {
            return 0;
        }
        if (value.length() > MAX_EVENT_ID_LENGTH || !value.chars().allMatch(Character::isDigit)) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, name + " must be the number of the last event "
                    + "received (0 or more), got '" + (value.length() > 40 ? value.substring(0, 40) + "…" : value)
                    + "'.", null, null, name);
        }
        return Long.parseLong(value);
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
        boolean outlivesClient = caller.resumable();
        requests.start(req, (async, limits, onEnd) -> new TurnExchange(async, mapper, stream, outlivesClient, limits,
                onEnd),
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

    /** The conversation and answer of {@code GET /api/v1/conversations/{id}/messages/{answerId}/stream}, else null. */
    private static String[] answerStream(HttpServletRequest req) {
        String path = req.getRequestURI().substring(req.getContextPath().length());
        if (!path.startsWith(PREFIX) || !path.endsWith(STREAM_SUFFIX)) {
            return null;
        }
        String[] parts = path.substring(PREFIX.length(), path.length() - STREAM_SUFFIX.length()).split("/", -1);
        if (parts.length != 3 || !"messages".equals(parts[1]) || parts[0].isEmpty() || parts[2].isEmpty()) {
            return null;
        }
        return new String[] { URLDecoder.decode(parts[0], StandardCharsets.UTF_8),
                URLDecoder.decode(parts[2], StandardCharsets.UTF_8) };
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

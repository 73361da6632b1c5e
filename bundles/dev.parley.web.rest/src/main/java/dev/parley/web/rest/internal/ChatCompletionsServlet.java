package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.api.chat.ChatService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.StreamHandle;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletionRequest;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
    private static final int MAX_QUEUED_FRAMES = 1024;
    private static final int MAX_QUEUED_BYTES = 4 * 1024 * 1024;

    private final transient ChatService chat;
    private final transient RestLimits limits;
    private final transient ObjectMapper mapper = JsonMapping.newMapper();
    private final transient ObjectReader requestReader = mapper.readerFor(ChatCompletionRequest.class);
    private final transient InFlightRequests inFlight = new InFlightRequests();
    private final transient Set<CompletionExchange> open = ConcurrentHashMap.newKeySet();
    private final transient ScheduledExecutorService timer;
    private final transient CompletionExchange.Limits exchangeLimits;

    @Activate
    public ChatCompletionsServlet(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    ChatCompletionsServlet(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.limits = limits;
        this.exchangeLimits = new CompletionExchange.Limits(MAX_QUEUED_FRAMES, MAX_QUEUED_BYTES,
                limits.requestTimeout().toNanos(), limits.sseHeartbeat().toNanos());
        var n = new AtomicInteger();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-rest-completions-timer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        // One sweep for every open exchange: timeouts and keep-alives cost no timer per request.
        timer.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
    }

    /** Server shutdown: refuse new completions, let running ones finish (bounded), then end the rest. */
    @Deactivate
    void deactivate() throws InterruptedException {
        try {
            InFlightRequests.drain(inFlight, limits, "openai", LOG);
            for (CompletionExchange e : open) {
                e.abandon();
            }
        } finally {
            timer.shutdownNow();
        }
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!"POST".equals(req.getMethod())) {
            resp.setHeader("Allow", "POST");
            error(resp, new ErrorResponses.Failure(405, ErrorCode.INVALID_REQUEST, "Method not allowed",
                    "Use POST for " + PATH + ".", null));
            return;
        }
        ChatCompletionRequest body;
        ChatRequest request;
        try {
            body = readBody(req);
            request = OpenAiRequests.chatRequest(body);
        } catch (RequestFailure f) {
            error(resp, f.failure);
            return;
        } catch (ParleyException e) {
            error(resp, ErrorResponses.Failure.of(e));
            return;
        }
        try {
            inFlight.enter();
        } catch (ParleyException e) {
            error(resp, ErrorResponses.Failure.of(e));
            return;
        }
        boolean stream = Boolean.TRUE.equals(body.stream());
        boolean includeUsage = body.streamOptions() != null && Boolean.TRUE.equals(body.streamOptions().includeUsage());
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        ChunkFrames frames = new ChunkFrames(mapper, id, Instant.now().getEpochSecond(), request.model());
        CompletionExchange exchange;
        try {
            AsyncContext async = req.startAsync();
            async.setTimeout(0); // the exchange enforces the request timeout itself
            exchange = new CompletionExchange(async, mapper, frames, stream, includeUsage, exchangeLimits, this::ended);
        } catch (IOException | RuntimeException e) {
            inFlight.exit();
            throw e;
        }
        open.add(exchange);
        StreamHandle handle;
        try {
            handle = chat.complete(request, exchange);
        } catch (ParleyException e) {
            // Refused before anything ran (unknown model, no provider, draining): a plain HTTP error, also for streams.
            exchange.refuse(ErrorResponses.Failure.of(e));
            exchange.open();
            return;
        } catch (RuntimeException e) {
            LOG.error("completion failed to start", e);
            exchange.refuse(ErrorResponses.Failure.of(ErrorCode.INTERNAL, "the completion could not be started"));
            exchange.open();
            return;
        }
        exchange.started(handle);
        exchange.open();
    }

    private void ended(CompletionExchange exchange) {
        if (open.remove(exchange)) {
            inFlight.exit();
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        for (CompletionExchange e : open) {
            try {
                e.tick(now);
            } catch (RuntimeException ex) {
                LOG.warn("completion housekeeping failed", ex);
            }
        }
    }

    private ChatCompletionRequest readBody(HttpServletRequest req) throws IOException {
        String type = req.getContentType();
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new RequestFailure(new ErrorResponses.Failure(415, ErrorCode.INVALID_REQUEST, "Unsupported media type",
                    "Send the request body as application/json.", null));
        }
        long max = limits.maxBodyBytes();
        long declared = req.getContentLengthLong();
        if (declared > max) {
            throw tooLarge(max);
        }
        byte[] bytes;
        try (InputStream in = req.getInputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        }
        if (bytes.length > max) {
            throw tooLarge(max);
        }
        if (bytes.length == 0) {
            throw new RequestFailure(ErrorResponses.Failure.of(ErrorCode.INVALID_REQUEST,
                    "The request body must be a JSON object."));
        }
        try {
            return requestReader.readValue(bytes);
        } catch (JsonProcessingException e) {
            throw new RequestFailure(ErrorMappers.Base.json(e));
        }
    }

    private static RequestFailure tooLarge(long max) {
        return new RequestFailure(ErrorResponses.Failure.of(ErrorCode.TOO_LARGE,
                "The request body is larger than " + max + " bytes."));
    }

    private void error(HttpServletResponse resp, ErrorResponses.Failure failure) throws IOException {
        byte[] body = mapper.writeValueAsBytes(failure.openAi());
        resp.setStatus(failure.status());
        resp.setContentType("application/json");
        Long retry = failure.retryAfterSeconds();
        if (retry != null) {
            resp.setHeader("Retry-After", Long.toString(retry));
        }
        if (failure.status() == 413) {
            // The rest of the body is never read: the client must not send its next request on this connection.
            resp.setHeader("Connection", "close");
        }
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    /** A request refused before it reaches core. */
    private static final class RequestFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient ErrorResponses.Failure failure;

        RequestFailure(ErrorResponses.Failure failure) {
            super(failure.detail(), null, false, false);
            this.failure = failure;
        }
    }
}

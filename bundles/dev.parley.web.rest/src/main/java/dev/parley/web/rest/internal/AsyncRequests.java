package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.StreamHandle;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;

/**
 * The async chat requests one front end has open: counted for the drain on shutdown, swept once a second by one
 * timer thread for request timeouts and keep-alives (no timer per request). Also reads and refuses their JSON bodies.
 */
final class AsyncRequests {
    private static final int MAX_QUEUED_FRAMES = 1024;
    private static final int MAX_QUEUED_BYTES = 4 * 1024 * 1024;

    private final String name;
    private final RestLimits limits;
    private final Logger log;
    private final InFlightRequests inFlight = new InFlightRequests();
    private final Set<AsyncExchange> open = ConcurrentHashMap.newKeySet();
    private final AsyncExchange.Limits exchangeLimits;
    private final ScheduledExecutorService timer;

    AsyncRequests(String name, RestLimits limits, Logger log) {
        this.name = name;
        this.limits = limits;
        this.log = log;
        this.exchangeLimits = new AsyncExchange.Limits(new AsyncWriter.Limits(MAX_QUEUED_FRAMES, MAX_QUEUED_BYTES),
                limits.requestTimeout().toNanos(), limits.sseHeartbeat().toNanos());
        var n = new AtomicInteger();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-rest-" + name + "-timer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
    }

    InFlightRequests inFlight() {
        return inFlight;
    }

    /** Counts a new request; throws {@code unavailable} once draining. */
    void enter() {
        inFlight.enter();
    }

    /** Makes an exchange for a request in async mode. */
    interface ExchangeFactory<E extends AsyncExchange> {
        E create(AsyncContext async, AsyncExchange.Limits limits, Consumer<AsyncExchange> onEnd) throws IOException;
    }

    /**
     * Puts a request counted by {@link #enter()} into async mode and starts its model call; a call core refuses
     * (unknown conversation or model, no provider, draining) becomes the exchange's plain error response.
     */
    <E extends AsyncExchange> void start(HttpServletRequest req, ExchangeFactory<E> factory,
            Function<E, StreamHandle> call) throws IOException {
        E exchange;
        try {
            AsyncContext async = req.startAsync();
            async.setTimeout(0); // the exchange enforces the request timeout itself
            exchange = factory.create(async, exchangeLimits, this::ended);
        } catch (IOException | RuntimeException e) {
            inFlight.exit();
            throw e;
        }
        open.add(exchange);
        try {
            exchange.started(call.apply(exchange));
        } catch (ParleyException e) {
            exchange.refuse(ErrorResponses.Failure.of(e));
        } catch (RuntimeException e) {
            log.error("chat request failed to start front={}", name, e);
            exchange.refuse(ErrorResponses.Failure.of(ErrorCode.INTERNAL, "the request could not be started"));
        }
        exchange.open();
    }

    private void ended(AsyncExchange exchange) {
        if (open.remove(exchange)) {
            inFlight.exit();
        }
    }

    /** Refuses new requests, lets the open ones finish for the drain time, then ends the rest; stops the timer. */
    void drain() throws InterruptedException {
        try {
            InFlightRequests.drain(inFlight, limits, name, log);
            for (AsyncExchange e : open) {
                e.abandon();
            }
        } finally {
            timer.shutdownNow();
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        for (AsyncExchange e : open) {
            try {
                e.tick(now);
            } catch (RuntimeException ex) {
                log.warn("chat request housekeeping failed front={}", name, ex);
            }
        }
    }

    /** The JSON body as {@code reader}'s type, bounded by {@code maxBodyBytes}; refusals as {@link Refused}. */
    <T> T readJson(HttpServletRequest req, ObjectReader reader) throws IOException {
        String type = req.getContentType();
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            // Refused before its body is read: Jetty closes a connection whose request body is left unread unless
            // all of it happens to have arrived, so the client is told not to reuse it (else its next request
            // may go out on a connection about to close, and get no answer).
            throw new Refused(new ErrorResponses.Failure(415, ErrorCode.INVALID_REQUEST, "Unsupported media type",
                    "Send the request body as application/json.", null), true);
        }
        long max = limits.maxBodyBytes();
        long declared = req.getContentLengthLong();
        if (declared > max) {
            throw tooLarge(max);
        }
        byte[] bytes;
        InputStream in = req.getInputStream();
        if (declared >= 0) {
            // The usual case: read straight into an array of the declared size (readNBytes(int) starts with an
            // 8 KiB chunk and copies). Jetty fails the read when the body ends early or runs past its declared length.
            bytes = new byte[(int) declared];
            int read = in.readNBytes(bytes, 0, bytes.length);
            if (read < bytes.length) {
                bytes = Arrays.copyOf(bytes, read);
            }
        } else {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        }
        if (bytes.length > max) {
            throw tooLarge(max);
        }
        if (bytes.length == 0) {
            throw new Refused(ErrorResponses.Failure.of(ErrorCode.INVALID_REQUEST, "The request body must be a JSON object."));
        }
        try {
            return reader.readValue(bytes);
        } catch (JsonProcessingException e) {
            throw new Refused(ErrorMappers.Base.json(e));
        }
    }

    /** A plain error response written at once (before any async work). */
    static void refuse(HttpServletResponse resp, ErrorResponses.Failure failure, String contentType, byte[] body,
            boolean closeConnection) throws IOException {
        resp.setStatus(failure.status());
        resp.setContentType(contentType);
        failure.headers(resp);
        if (closeConnection) {
            // The rest of the body is never read: the client must not send its next request on this connection.
            resp.setHeader("Connection", "close");
        }
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    /**
     * A body over the limit, refused from its Content-Length before it is read (or once more than the limit has
     * arrived): the connection is closed after the answer, since the rest of the body is never read.
     */
    static Refused tooLarge(long max) {
        return new Refused(ErrorResponses.Failure.of(ErrorCode.TOO_LARGE,
                "The request body is larger than " + max + " bytes."), true);
    }

    /** A request refused before it reaches core. */
    static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient ErrorResponses.Failure failure;
        /** The request body was left unread: the connection cannot be reused. */
        final boolean closeConnection;

        Refused(ErrorResponses.Failure failure) {
            this(failure, false);
        }

        Refused(ErrorResponses.Failure failure, boolean closeConnection) {
            super(failure.detail(), null, false, false);
            this.failure = failure;
            this.closeConnection = closeConnection;
        }
    }
}

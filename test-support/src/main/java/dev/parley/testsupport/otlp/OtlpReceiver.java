package dev.parley.testsupport.otlp;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * A loopback OTLP/HTTP trace receiver for tests: what an OpenTelemetry collector is to an exporter, reduced to
 * {@code POST /v1/traces}, with the spans it received kept as {@link ReceivedSpan}s for assertions.
 *
 * <p>It speaks OTLP/HTTP as the specification says: a request body is an {@code ExportTraceServiceRequest} in
 * binary protobuf ({@code Content-Type: application/x-protobuf}) or OTLP/JSON ({@code application/json}), plain or
 * {@code Content-Encoding: gzip}; a success is 200 with an {@code ExportTraceServiceResponse} in the request's
 * content type; a body that does not decode is 400 with a {@code google.rpc.Status} in the request's content
 * type; other content types are 415, other methods 405, other paths 404. Spans are kept before the answer is sent,
 * so once an exporter's export (or an SDK's {@code forceFlush}) has completed, {@link #spans()} holds them.
 *
 * <pre>{@code
 * try (OtlpReceiver otlp = OtlpReceiver.start()) {
 *     // OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint(), OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
 *     ...
 *     List<ReceivedSpan> spans = otlp.awaitSpans(s -> s.size() >= 2, Duration.ofSeconds(10));
 * }
 * }</pre>
 */
public final class OtlpReceiver implements AutoCloseable {

    /** The path the SDK appends to {@code OTEL_EXPORTER_OTLP_ENDPOINT} for traces. */
    public static final String TRACES_PATH = "/v1/traces";

    static final String PROTOBUF = "application/x-protobuf";
    static final String JSON = "application/json";

    private final HttpServer server;
    private final ExecutorService executor;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Guards the fields below; waiters of {@link #awaitSpans} wait on it and are woken by every change. */
    private final Object lock = new Object();
    private List<ReceivedSpan> spans = List.of();
    private List<ExportRequest> requests = List.of();
    private long version;
    private int throttleRemaining;
    private int throttleStatus;
    private Duration throttleRetryAfter;

    private OtlpReceiver(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        executor = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "otlp-receiver");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Starts a receiver on an ephemeral port of 127.0.0.1. */
    public static OtlpReceiver start() {
        return start(0);
    }

    /** Starts a receiver on {@code port} of 127.0.0.1 (0 = ephemeral). */
    public static OtlpReceiver start(int port) {
        try {
            return new OtlpReceiver(port);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the OTLP receiver", e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * The base URL for {@code OTEL_EXPORTER_OTLP_ENDPOINT} / {@code otel.exporter.otlp.endpoint}, e.g.
     * {@code http://127.0.0.1:41234}; the SDK appends {@code /v1/traces}. A trace exporter configured by its own
     * endpoint ({@code OtlpHttpSpanExporterBuilder.setEndpoint}, {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}) takes
     * {@link #tracesEndpoint()} instead.
     */
    public String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    /** The full URL of the traces path, {@code endpoint() + "/v1/traces"}. */
    public String tracesEndpoint() {
        return endpoint() + TRACES_PATH;
    }

    public URI tracesUri() {
        return URI.create(tracesEndpoint());
    }

    // ---- scripting -------------------------------------------------------------------------------------------

    /**
     * Answers the next {@code count} trace exports with {@code status} (429 or 503, say) and, when
     * {@code retryAfter} is not null, {@code Retry-After} in whole seconds (rounded up), keeping none of their
     * spans: a collector that is overloaded or down. Replaces any throttle still pending.
     */
    public OtlpReceiver throttleNext(int count, int status, Duration retryAfter) {
        if (count < 0) {
            throw new IllegalArgumentException("count must not be negative: " + count);
        }
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("a throttle answers an HTTP error status, not " + status);
        }
        synchronized (lock) {
            throttleRemaining = count;
            throttleStatus = status;
            throttleRetryAfter = retryAfter;
        }
        return this;
    }

    /** Forgets the spans and requests received so far and any pending throttle. */
    public void clear() {
        synchronized (lock) {
            spans = List.of();
            requests = List.of();
            throttleRemaining = 0;
            version++;
            lock.notifyAll();
        }
    }

    // ---- observing -------------------------------------------------------------------------------------------

    /** Every span received so far, in the order they arrived. */
    public List<ReceivedSpan> spans() {
        synchronized (lock) {
            return spans;
        }
    }

    /** The received spans with this name, in the order they arrived. */
    public List<ReceivedSpan> spans(String name) {
        return spans().stream().filter(s -> s.name().equals(name)).toList();
    }

    /** The received spans of one trace (lower-case hex id), in the order they arrived. */
    public List<ReceivedSpan> trace(String traceId) {
        String id = traceId.toLowerCase(Locale.ROOT);
        return spans().stream().filter(s -> s.traceId().equals(id)).toList();
    }

    /** The ids of the traces received so far, in the order their first span arrived. */
    public List<String> traceIds() {
        Set<String> ids = new LinkedHashSet<>();
        spans().forEach(s -> ids.add(s.traceId()));
        return List.copyOf(ids);
    }

    /** How many HTTP requests the receiver answered, whatever their path or outcome. */
    public int requests() {
        synchronized (lock) {
            return requests.size();
        }
    }

    /** The HTTP requests the receiver answered, in order. */
    public List<ExportRequest> exportRequests() {
        synchronized (lock) {
            return requests;
        }
    }

    /**
     * Waits until {@code until} holds for the spans received so far and returns those spans. The condition is
     * tested now and again each time spans arrive (or {@link #clear()} is called), never by polling.
     *
     * @throws AssertionError when {@code timeout} passes first; its message shows every span received, as trees
     */
    public List<ReceivedSpan> awaitSpans(Predicate<List<ReceivedSpan>> until, Duration timeout) {
        Objects.requireNonNull(until, "until");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<ReceivedSpan> seen;
            long seenVersion;
            synchronized (lock) {
                seen = spans;
                seenVersion = version;
            }
            // Tested outside the lock: the condition is the caller's code, and exports must not wait on it.
            if (until.test(seen)) {
                return seen;
            }
            synchronized (lock) {
                while (version == seenVersion) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new AssertionError("no span set received within " + timeout
                                + " satisfied the condition; received " + spans.size() + " spans in "
                                + requests.size() + " requests:\n" + renderTree(spans));
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(lock, left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while waiting for spans", e);
                    }
                }
            }
        }
    }

    /** Waits until at least {@code count} spans have arrived; see {@link #awaitSpans}. */
    public List<ReceivedSpan> awaitSpanCount(int count, Duration timeout) {
        return awaitSpans(s -> s.size() >= count, timeout);
    }

    /** One trace as an indented tree (see {@link #renderTree}), for assertion messages. */
    public String renderTrace(String traceId) {
        return renderTree(trace(traceId));
    }

    /** Every span received so far as indented trees, one per trace. */
    public String render() {
        return renderTree(spans());
    }

    /**
     * Renders spans as one indented tree per trace: each span under its parent, siblings by start time, its events
     * beneath it. A span whose parent is not among {@code spans} is shown at the top with a note.
     */
    public static String renderTree(List<ReceivedSpan> spans) {
        if (spans.isEmpty()) {
            return "(no spans)\n";
        }
        Map<String, List<ReceivedSpan>> byTrace = new LinkedHashMap<>();
        for (ReceivedSpan span : spans) {
            byTrace.computeIfAbsent(span.traceId(), id -> new ArrayList<>()).add(span);
        }
        StringBuilder out = new StringBuilder();
        Comparator<ReceivedSpan> byStart = Comparator.comparingLong(ReceivedSpan::startEpochNanos);
        for (Map.Entry<String, List<ReceivedSpan>> trace : byTrace.entrySet()) {
            List<ReceivedSpan> traceSpans = trace.getValue();
            out.append("trace ").append(trace.getKey()).append(" (").append(traceSpans.size())
                    .append(traceSpans.size() == 1 ? " span)\n" : " spans)\n");
            Set<String> ids = new HashSet<>();
            traceSpans.forEach(s -> ids.add(s.spanId()));
            Map<String, List<ReceivedSpan>> children = new LinkedHashMap<>();
            List<ReceivedSpan> tops = new ArrayList<>();
            for (ReceivedSpan span : traceSpans) {
                if (!span.isRoot() && ids.contains(span.parentSpanId()) && !span.parentSpanId().equals(span.spanId())) {
                    children.computeIfAbsent(span.parentSpanId(), id -> new ArrayList<>()).add(span);
                } else {
                    tops.add(span);
                }
            }
            tops.sort(byStart);
            Set<String> printed = new HashSet<>();
            for (ReceivedSpan top : tops) {
                renderSpan(out, top, 1, children, byStart, printed);
            }
            // Spans in a parent cycle are reachable from no top; show them rather than hide them.
            for (ReceivedSpan span : traceSpans) {
                if (!printed.contains(span.spanId())) {
                    renderSpan(out, span, 1, children, byStart, printed);
                }
            }
        }
        return out.toString();
    }

    private static void renderSpan(StringBuilder out, ReceivedSpan span, int depth,
                                   Map<String, List<ReceivedSpan>> children, Comparator<ReceivedSpan> byStart,
                                   Set<String> printed) {
        if (!printed.add(span.spanId())) {
            return;
        }
        String indent = "  ".repeat(depth);
        out.append(indent).append(span);
        if (depth == 1 && !span.isRoot()) {
            out.append(" (parent not received)");
        }
        out.append('\n');
        for (ReceivedSpan.Event event : span.events()) {
            out.append(indent).append("  * event ").append(event.name());
            if (!event.attributes().isEmpty()) {
                out.append(' ').append(ReceivedSpan.format(event.attributes()));
            }
            out.append('\n');
        }
        List<ReceivedSpan> kids = new ArrayList<>(children.getOrDefault(span.spanId(), List.of()));
        kids.sort(byStart);
        for (ReceivedSpan kid : kids) {
            renderSpan(out, kid, depth + 1, children, byStart, printed);
        }
    }

    /** Stops the receiver; calling it again is harmless. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        server.stop(0);
        executor.shutdownNow();
    }

    // ---- protocol ----------------------------------------------------------------------------------------------

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            String contentType = mediaType(exchange.getRequestHeaders().getFirst("Content-Type"));
            String encoding = lower(exchange.getRequestHeaders().getFirst("Content-Encoding"));
            Answer answer;
            try {
                answer = answer(exchange, method, path, contentType, encoding);
            } catch (RuntimeException e) {
                answer = Answer.text(500, "the OTLP receiver failed: " + e);
            }
            synchronized (lock) {
                List<ExportRequest> more = new ArrayList<>(requests);
                more.add(new ExportRequest(method, path, contentType, encoding, answer.status, answer.spans.size(),
                        answer.error));
                requests = List.copyOf(more);
                if (!answer.spans.isEmpty()) {
                    List<ReceivedSpan> all = new ArrayList<>(spans);
                    all.addAll(answer.spans);
                    spans = List.copyOf(all);
                }
                version++;
                lock.notifyAll();
            }
            send(exchange, answer);
        }
    }

    private Answer answer(HttpExchange exchange, String method, String path, String contentType, String encoding)
            throws IOException {
        if (!TRACES_PATH.equals(path)) {
            return Answer.text(404, "the OTLP receiver serves only POST " + TRACES_PATH + ", not " + path);
        }
        if (!"POST".equals(method)) {
            Answer answer = Answer.text(405, "OTLP/HTTP exports are POST requests, not " + method);
            answer.headers.put("Allow", "POST");
            return answer;
        }
        boolean json;
        if (PROTOBUF.equals(contentType)) {
            json = false;
        } else if (JSON.equals(contentType)) {
            json = true;
        } else {
            return Answer.text(415, "OTLP/HTTP takes Content-Type " + PROTOBUF + " or " + JSON + ", not '"
                    + contentType + "'");
        }
        if (!encoding.isEmpty() && !encoding.equals("gzip") && !encoding.equals("identity")) {
            return Answer.text(415, "the OTLP receiver takes Content-Encoding gzip or identity, not '" + encoding + "'");
        }
        byte[] body = exchange.getRequestBody().readAllBytes();
        Answer throttled = throttle(json);
        if (throttled != null) {
            return throttled;
        }
        ExportTraceServiceRequest request;
        try {
            byte[] decoded = encoding.equals("gzip") ? gunzip(body) : body;
            request = json ? OtlpCodec.parseJson(decoded) : OtlpCodec.parseProtobuf(decoded);
        } catch (OtlpCodec.MalformedException e) {
            return Answer.status(400, json, OtlpCodec.RPC_INVALID_ARGUMENT, e.getMessage());
        }
        byte[] response = json ? OtlpCodec.responseJson() : OtlpCodec.responseProtobuf();
        return new Answer(200, json ? JSON : PROTOBUF, response, OtlpCodec.spans(request), "");
    }

    private Answer throttle(boolean json) {
        int status;
        Duration retryAfter;
        synchronized (lock) {
            if (throttleRemaining == 0) {
                return null;
            }
            throttleRemaining--;
            status = throttleStatus;
            retryAfter = throttleRetryAfter;
        }
        int rpcCode = status == 429 ? OtlpCodec.RPC_RESOURCE_EXHAUSTED : OtlpCodec.RPC_UNAVAILABLE;
        Answer answer = Answer.status(status, json, rpcCode, "throttled by the test (OtlpReceiver.throttleNext)");
        if (retryAfter != null) {
            long seconds = (retryAfter.toMillis() + 999) / 1000;
            answer.headers.put("Retry-After", Long.toString(Math.max(0, seconds)));
        }
        return answer;
    }

    private static byte[] gunzip(byte[] body) throws OtlpCodec.MalformedException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return in.readAllBytes();
        } catch (ZipException | java.io.EOFException e) {
            throw new OtlpCodec.MalformedException("Content-Encoding is gzip but the body is not: " + e, e);
        } catch (IOException e) {
            throw new OtlpCodec.MalformedException("cannot gunzip the body: " + e, e);
        }
    }

    private static void send(HttpExchange exchange, Answer answer) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", answer.contentType);
        answer.headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
        // HttpServer: -1 is "no body"; 0 would mean "chunked".
        exchange.sendResponseHeaders(answer.status, answer.body.length == 0 ? -1 : answer.body.length);
        if (answer.body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer.body);
            }
        }
    }

    private static String mediaType(String header) {
        String value = lower(header);
        int semicolon = value.indexOf(';');
        return (semicolon < 0 ? value : value.substring(0, semicolon)).trim();
    }

    private static String lower(String header) {
        return header == null ? "" : header.trim().toLowerCase(Locale.ROOT);
    }

    private static final class Answer {
        final int status;
        final String contentType;
        final byte[] body;
        final List<ReceivedSpan> spans;
        final String error;
        final Map<String, String> headers = new LinkedHashMap<>();

        Answer(int status, String contentType, byte[] body, List<ReceivedSpan> spans, String error) {
            this.status = status;
            this.contentType = contentType;
            this.body = body;
            this.spans = spans;
            this.error = error;
        }

        static Answer text(int status, String message) {
            return new Answer(status, "text/plain; charset=utf-8", message.getBytes(StandardCharsets.UTF_8),
                    List.of(), message);
        }

        static Answer status(int status, boolean json, int rpcCode, String message) {
            byte[] body = json ? OtlpCodec.statusJson(rpcCode, message) : OtlpCodec.statusProtobuf(rpcCode, message);
            return new Answer(status, json ? JSON : PROTOBUF, body, List.of(), message);
        }
    }
}

package dev.parley.benchmarks;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.core.CloseStatus;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.Frame;
import org.eclipse.jetty.websocket.core.FrameHandler;
import org.eclipse.jetty.websocket.core.OpCode;
import org.eclipse.jetty.websocket.core.client.WebSocketCoreClient;

/**
 * The relay benchmark's non-blocking driver: measured HTTP requests on {@link NioHttp} (one selector thread),
 * WebSocket turns on the Jetty core WebSocket client, set-up calls on Jetty's HttpClient; no thread per client or
 * stream. Every response is parsed on the fly (SSE frames or WebSocket messages) to time the first token and every
 * gap between content chunks, and to count the chunks, so a dropped or merged delta is seen.
 */
final class RelayClient implements AutoCloseable {

    /** What one request is. */
    enum Kind {
        OPENAI_STREAM, OPENAI_COMPLETE, NATIVE_SSE, WS
    }

    static final long TIMEOUT_S = 120;

    /** One finished request; times in ns from System.nanoTime. */
    record Sample(long start, long end, long ttft, long maxGap, int chunks, String error) {
    }

    private final HttpClient http;
    private final WebSocketCoreClient ws;

    RelayClient() throws Exception {
        QueuedThreadPool pool = new QueuedThreadPool(16, 4);
        pool.setName("driver");
        pool.setDaemon(true);
        http = new HttpClient();
        http.setExecutor(pool);
        http.setMaxConnectionsPerDestination(65_536);
        http.setMaxRequestsQueuedPerDestination(65_536);
        http.setIdleTimeout(TimeUnit.MINUTES.toMillis(15));
        http.setConnectTimeout(10_000);
        http.setFollowRedirects(false);
        http.setUserAgentField(null);
        http.getContentDecoderFactories().clear();
        ws = new WebSocketCoreClient(http, null);
        ws.start();
        if (!http.isStarted()) {
            http.start();
        }
    }

    HttpClient http() {
        return http;
    }

    private final NioHttp nio = new NioHttp();

    /**
     * Sends one encoded request (see {@link NioHttp#post}) on the cheap client and calls {@code done} with its sample;
     * {@code onFirst}, when not null, runs when the first content chunk arrives.
     */
    NioHttp.Call send(Kind kind, InetSocketAddress addr, byte[] request, int expected, Runnable onFirst,
            Consumer<Sample> done) {
        SseTracker t = new SseTracker(kind, expected);
        t.onFirst = onFirst;
        return nio.send(addr, request, new NioHttp.Handler() {
            @Override
            public void body(ByteBuffer data, long nanoTime) {
                t.bytes(data, nanoTime);
            }

            @Override
            public void done(int status, String error) {
                String err = error;
                if (err == null && status != 200) {
                    err = "status " + status + ": " + abbreviate(t.text());
                }
                done.accept(t.finish(err));
            }
        });
    }

    static InetSocketAddress address(URI uri) {
        return new InetSocketAddress(uri.getHost(), uri.getPort());
    }

    /** The model the upstream serves and the relay's requests name. */
    static final String MODEL = "fake-model";

    static String openAiBody(boolean stream) {
        return openAiBody(MODEL, stream);
    }

    static String openAiBody(String model, boolean stream) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me something.\"}]"
                + (stream ? ",\"stream\":true" : "") + "}";
    }

    /**
     * Parses an SSE (or plain JSON) body as it arrives, on the bytes (no String per frame: the driver must stay cheap
     * next to the gateways it measures). All frames of one read share that read's arrival time.
     */
    static final class SseTracker {
        private static final byte[] CONTENT_KEY = ascii("\"content\":");
        private static final byte[] TOKEN_EVENT = ascii("event: token");
        private static final byte[] DONE_EVENT = ascii("event: done");
        private static final byte[] ERROR_EVENT = ascii("event: error");
        private static final byte[] DONE_DATA = ascii("data: [DONE]");
        private static final byte[] ERROR_DATA = ascii("data: {\"error\"");

        final Kind kind;
        final int expected;
        final long start = System.nanoTime();
        long first = -1;
        long last = -1;
        long maxGap;
        int chunks;
        boolean done;
        String error;
        Runnable onFirst;
        /** The current frame (or, for a non-stream answer, the whole body). */
        private byte[] buf = new byte[512];
        private int len;

        SseTracker(Kind kind, int expected) {
            this.kind = kind;
            this.expected = expected;
        }

        void bytes(ByteBuffer in) {
            bytes(in, System.nanoTime());
        }

        void bytes(ByteBuffer in, long now) {
            while (in.hasRemaining()) {
                byte b = in.get();
                if (len == buf.length) {
                    buf = java.util.Arrays.copyOf(buf, len * 2);
                }
                buf[len++] = b;
                if (b == '\n' && kind != Kind.OPENAI_COMPLETE && len >= 2 && buf[len - 2] == '\n') {
                    frame(now);
                    len = 0;
                }
            }
        }

        String text() {
            return new String(buf, 0, len, StandardCharsets.UTF_8);
        }

        private void frame(long now) {
            boolean content;
            if (kind == Kind.NATIVE_SSE) {
                content = indexOf(TOKEN_EVENT, 0) >= 0;
                done |= !content && indexOf(DONE_EVENT, 0) >= 0;
                if (!content && indexOf(ERROR_EVENT, 0) >= 0) {
                    error = "error event: " + abbreviate(text());
                }
            } else {
                if (startsWith(DONE_DATA)) {
                    done = true;
                    return;
                }
                if (startsWith(ERROR_DATA)) {
                    error = "error frame: " + abbreviate(text());
                }
                content = false;
                int at = indexOf(CONTENT_KEY, 0);
                if (at >= 0) {
                    int i = at + CONTENT_KEY.length;
                    while (i < len && buf[i] == ' ') {
                        i++;
                    }
                    content = i + 1 < len && buf[i] == '"' && buf[i + 1] != '"';
                }
            }
            if (content) {
                chunk(now);
            }
        }

        private boolean startsWith(byte[] p) {
            if (len < p.length) {
                return false;
            }
            for (int i = 0; i < p.length; i++) {
                if (buf[i] != p[i]) {
                    return false;
                }
            }
            return true;
        }

        private int indexOf(byte[] p, int from) {
            outer:
            for (int i = from; i <= len - p.length; i++) {
                for (int j = 0; j < p.length; j++) {
                    if (buf[i + j] != p[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        private static byte[] ascii(String s) {
            return s.getBytes(StandardCharsets.US_ASCII);
        }

        void chunk(long now) {
            if (first < 0) {
                first = now;
                if (onFirst != null) {
                    onFirst.run();
                }
            } else {
                maxGap = Math.max(maxGap, now - last);
            }
            last = now;
            chunks++;
        }

        Sample finish(String failure) {
            long end = System.nanoTime();
            String err = failure != null ? failure : error;
            if (err == null) {
                if (kind == Kind.OPENAI_COMPLETE) {
                    if (indexOf(ascii(RelayUpstream.word(expected).trim() + "\""), 0) < 0) {
                        err = "answer incomplete: " + abbreviate(text());
                    } else {
                        first = end;
                        chunks = expected;
                    }
                } else if (!done) {
                    err = "stream ended without done after " + chunks + " chunks";
                } else if (chunks != expected) {
                    err = "dropped chunks: " + chunks + " of " + expected;
                }
            }
            return new Sample(start, end, first < 0 ? -1 : first - start, maxGap, chunks, err);
        }
    }

    // ---- WebSocket -----------------------------------------------------------------------------------------------

    /** One client socket; runs one turn at a time. */
    final class Socket implements FrameHandler {
        volatile CoreSession session;
        private final CompletableFuture<Socket> open = new CompletableFuture<>();
        private final StringBuilder partial = new StringBuilder();
        private volatile SseTracker turn;
        private volatile Consumer<Sample> turnDone;
        private volatile CompletableFuture<Void> pong;
        final AtomicReference<String> closed = new AtomicReference<>();

        CompletableFuture<Socket> connect(URI uri) {
            try {
                var upgrade = org.eclipse.jetty.websocket.core.client.CoreClientUpgradeRequest.from(ws, uri, this);
                upgrade.headers(h -> h.put("Authorization", "Bearer " + Benchmark.CREDENTIAL));
                ws.connect(upgrade).whenComplete((s, x) -> {
                    if (x != null) {
                        open.completeExceptionally(x);
                    }
                });
            } catch (Exception e) {
                open.completeExceptionally(e);
            }
            return open;
        }

        void turn(String conversationId, String id, int expected, Consumer<Sample> done) {
            turn = new SseTracker(Kind.WS, expected);
            turnDone = done;
            String frame = "{\"type\":\"send\",\"id\":\"" + id + "\""
                    + (conversationId == null ? "" : ",\"conversationId\":\"" + conversationId + "\"")
                    + ",\"content\":\"Tell me something.\"}";
            session.sendFrame(new Frame(OpCode.TEXT).setPayload(frame), Callback.from(() -> { }, this::fail), false);
        }

        CompletableFuture<Void> ping() {
            pong = new CompletableFuture<>();
            session.sendFrame(new Frame(OpCode.TEXT).setPayload("{\"type\":\"ping\",\"id\":\"p\"}"), Callback.NOOP,
                    false);
            return pong;
        }

        void close() {
            CoreSession s = session;
            if (s != null && !s.isClosed()) {
                s.close(CloseStatus.NORMAL, "bye", Callback.NOOP);
            }
        }

        @Override
        public void onOpen(CoreSession coreSession, Callback callback) {
            session = coreSession;
            callback.succeeded();
            coreSession.demand();
            open.complete(this);
        }

        @Override
        public void onFrame(Frame frame, Callback callback) {
            long now = System.nanoTime();
            if (frame.getOpCode() == OpCode.TEXT || frame.getOpCode() == OpCode.CONTINUATION) {
                partial.append(frame.getPayloadAsUTF8());
                if (frame.isFin()) {
                    message(partial.toString(), now);
                    partial.setLength(0);
                }
            }
            callback.succeeded();
            session.demand();
        }

        private void message(String m, long now) {
            if (m.startsWith("{\"type\":\"pong\"") || m.contains("\"type\":\"pong\"")) {
                CompletableFuture<Void> p = pong;
                if (p != null) {
                    p.complete(null);
                }
                return;
            }
            SseTracker t = turn;
            if (t == null) {
                return;
            }
            if (m.contains("\"type\":\"token\"")) {
                t.chunk(now);
            } else if (m.contains("\"type\":\"done\"")) {
                t.done = true;
                endTurn(null);
            } else if (m.contains("\"type\":\"error\"")) {
                t.error = "error frame: " + abbreviate(m);
                endTurn(null);
            }
        }

        private void endTurn(String failure) {
            SseTracker t = turn;
            Consumer<Sample> d = turnDone;
            turn = null;
            turnDone = null;
            if (t != null && d != null) {
                d.accept(t.finish(failure));
            }
        }

        private void fail(Throwable x) {
            endTurn(String.valueOf(x));
        }

        @Override
        public void onError(Throwable cause, Callback callback) {
            open.completeExceptionally(cause);
            closed.compareAndSet(null, String.valueOf(cause));
            endTurn(String.valueOf(cause));
            callback.succeeded();
        }

        @Override
        public void onClosed(CloseStatus closeStatus, Callback callback) {
            closed.compareAndSet(null, String.valueOf(closeStatus));
            open.completeExceptionally(new IllegalStateException("closed " + closeStatus));
            endTurn("socket closed: " + closeStatus);
            callback.succeeded();
        }
    }

    /** Opens {@code n} sockets, at most {@code inFlight} handshakes at a time. */
    List<Socket> openSockets(URI uri, int n, int inFlight) throws InterruptedException {
        List<Socket> sockets = new ArrayList<>(n);
        java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(inFlight);
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        CountDownLatch all = new CountDownLatch(n);
        for (int i = 0; i < n; i++) {
            permits.acquire();
            Socket s = new Socket();
            sockets.add(s);
            s.connect(uri).whenComplete((ok, x) -> {
                if (x != null) {
                    failed.incrementAndGet();
                    firstError.compareAndSet(null, String.valueOf(x));
                }
                permits.release();
                all.countDown();
            });
        }
        if (!all.await(120, TimeUnit.SECONDS)) {
            sockets.forEach(Socket::close);
            throw new IllegalStateException("WebSocket handshakes did not finish in 120 s; " + failed.get()
                    + " failed, first: " + firstError.get());
        }
        // A failed handshake is reported with the figures (and its socket counts as closed), not a reason to drop
        // the whole run.
        lastHandshakeFailures = failed.get();
        lastHandshakeError = firstError.get();
        return sockets;
    }

    /** Of the last {@link #openSockets} call: handshakes that failed, and the first failure. */
    volatile int lastHandshakeFailures;
    volatile String lastHandshakeError;

    /** Creates {@code n} conversations with at most 64 requests in flight; returns their ids. */
    List<String> createConversations(URI base, int n) throws Exception {
        String[] ids = new String[n];
        java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(64);
        CountDownLatch all = new CountDownLatch(n);
        AtomicReference<String> err = new AtomicReference<>();
        Pattern id = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"");
        for (int i = 0; i < n; i++) {
            permits.acquire();
            int slot = i;
            StringBuilder b = new StringBuilder();
            http.newRequest(base.resolve("/api/v1/conversations")).method(HttpMethod.POST)
                    .headers(h -> h.put("Authorization", "Bearer " + Benchmark.CREDENTIAL))
                    .body(new StringRequestContent("application/json", "{\"title\":\"bench\"}"))
                    .onResponseContent((r, buf) -> b.append(StandardCharsets.UTF_8.decode(buf)))
                    .send(result -> {
                        var m = id.matcher(b);
                        if (!result.isFailed() && result.getResponse().getStatus() == 201 && m.find()) {
                            ids[slot] = m.group(1);
                        } else {
                            err.compareAndSet(null, result.isFailed() ? String.valueOf(result.getFailure())
                                    : result.getResponse().getStatus() + " " + b);
                        }
                        permits.release();
                        all.countDown();
                    });
        }
        all.await(300, TimeUnit.SECONDS);
        if (err.get() != null) {
            throw new IllegalStateException("creating conversations failed: " + err.get());
        }
        return List.of(ids);
    }

    /** A counter of turns, so that every WebSocket turn id is unique. */
    static final AtomicLong TURN_IDS = new AtomicLong();

    static String abbreviate(String s) {
        if (s == null) {
            return "<empty>";
        }
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    @Override
    public void close() throws Exception {
        nio.close();
        ws.stop();
        http.stop();
    }
}

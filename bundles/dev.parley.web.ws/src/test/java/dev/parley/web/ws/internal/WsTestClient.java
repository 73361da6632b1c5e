package dev.parley.web.ws.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/** A JDK WebSocket client that collects whole text frames as JSON; optionally reads nothing until told. */
final class WsTestClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Close(int code, String reason) {
    }

    final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    final CompletableFuture<Close> closed = new CompletableFuture<>();
    final AtomicLong charsReceived = new AtomicLong();
    private final StringBuilder partial = new StringBuilder();
    private final boolean keepFrames;
    private final WebSocket ws;

    private WsTestClient(WebSocket.Builder builder, URI uri, boolean reading, boolean keepFrames) {
        this.keepFrames = keepFrames;
        this.ws = builder.connectTimeout(Duration.ofSeconds(5)).buildAsync(uri, new Listener(reading)).join();
    }

    /** A client that reads everything the server sends, with the test member's credential. */
    static WsTestClient connect(HttpClient http, URI uri) {
        return connect(withCredential(http), uri);
    }

    /** A client that reads everything the server sends, with what {@code builder} holds (credential, origin). */
    static WsTestClient connect(WebSocket.Builder builder, URI uri) {
        return new WsTestClient(builder, uri, true, true);
    }

    /** A client that never asks for a frame (its TCP receive window fills up) until {@link #startReading()}. */
    static WsTestClient connectNotReading(HttpClient http, URI uri) {
        return new WsTestClient(withCredential(http), uri, false, false);
    }

    private static WebSocket.Builder withCredential(HttpClient http) {
        return http.newWebSocketBuilder().header("Authorization", "Bearer " + TestCredentials.MEMBER);
    }

    /** The subprotocol the server selected ("" for none). */
    String subprotocol() {
        return ws.getSubprotocol();
    }

    void startReading() {
        ws.request(Long.MAX_VALUE);
    }

    void send(String text) {
        ws.sendText(text, true).join();
    }

    void sendBinary(byte[] bytes) {
        ws.sendBinary(ByteBuffer.wrap(bytes), true).join();
    }

    void closeNormally() {
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    }

    /** The next frame, failing after 10 s. */
    JsonNode next() throws InterruptedException {
        JsonNode frame = frames.poll(10, TimeUnit.SECONDS);
        if (frame == null) {
            throw new AssertionError("no frame within 10 s");
        }
        return frame;
    }

    /** Skips frames until one matches. */
    JsonNode nextMatching(Predicate<JsonNode> p) throws InterruptedException {
        while (true) {
            JsonNode frame = next();
            if (p.test(frame)) {
                return frame;
            }
        }
    }

    Close awaitClose() throws Exception {
        return closed.get(20, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        ws.abort();
    }

    private final class Listener implements WebSocket.Listener {
        private final boolean reading;

        Listener(boolean reading) {
            this.reading = reading;
        }

        @Override
        public void onOpen(WebSocket webSocket) {
            if (reading) {
                webSocket.request(Long.MAX_VALUE);
            }
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            charsReceived.addAndGet(data.length());
            if (keepFrames) {
                partial.append(data);
                if (last) {
                    try {
                        frames.add(JSON.readTree(partial.toString()));
                    } catch (Exception e) {
                        closed.completeExceptionally(e);
                    }
                    partial.setLength(0);
                }
            }
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete(new Close(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.completeExceptionally(error);
        }
    }
}

package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.StreamHandle;
import dev.parley.web.rest.internal.StreamEvents.Event;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one turn as {@code text/event-stream} on the request thread, flushing after every event so tokens
 * reach the client as they arrive. A failed write means the client went away: the turn is cancelled, so core
 * stores the answer as interrupted.
 */
final class SseStream implements StreamingOutput {
    static final String EVENT_STREAM = "text/event-stream";
    private static final Logger LOG = LoggerFactory.getLogger(SseStream.class);

    /** Renders events; returns true once the stream is finished. */
    interface Renderer {
        default void start(Sink out) throws IOException {
        }

        boolean render(Event event, Sink out) throws IOException;
    }

    private final StreamEvents events;
    private final StreamHandle handle;
    private final Duration timeout;
    private final Duration heartbeat;
    private final ObjectMapper mapper;
    private final Renderer renderer;
    private final Runnable onEnd;

    /** @param onEnd runs once when the stream has been written out (or failed) */
    SseStream(StreamEvents events, StreamHandle handle, RestLimits limits, ObjectMapper mapper, Renderer renderer,
            Runnable onEnd) {
        this.onEnd = onEnd;
        this.events = events;
        this.handle = handle;
        this.timeout = limits.requestTimeout();
        this.heartbeat = limits.sseHeartbeat();
        this.mapper = mapper;
        this.renderer = renderer;
    }

    /** The 200 response carrying this stream, with headers that stop proxies from buffering it. */
    Response response() {
        return Response.ok(this, EVENT_STREAM)
                .header("Cache-Control", "no-cache")
                .header("X-Accel-Buffering", "no")
                .build();
    }

    @Override
    public void write(OutputStream output) {
        Sink out = new Sink(output, mapper);
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            renderer.start(out);
            while (true) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    handle.cancel();
                    renderer.render(new StreamEvents.Failed(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                            "No complete answer within " + timeout.toSeconds() + " seconds.")), out);
                    return;
                }
                Event event = events.next(Duration.ofNanos(Math.min(remaining, heartbeat.toNanos())));
                if (event == null) {
                    // Also how a vanished client is noticed while the model is silent.
                    out.comment("keep-alive");
                } else if (renderer.render(event, out)) {
                    return;
                }
            }
        } catch (IOException e) {
            LOG.debug("client left mid-stream, cancelling turn reason={}", e.toString());
            handle.cancel();
        } catch (InterruptedException e) {
            handle.cancel();
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            handle.cancel();
            throw e;
        } finally {
            onEnd.run();
        }
    }

    /** Frames and flushes events. */
    static final class Sink {
        private static final byte[] TOKEN_PREFIX = "event: token\ndata: {\"delta\":\"".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] TOKEN_SUFFIX = "\"}\n\n".getBytes(StandardCharsets.US_ASCII);
        private final OutputStream out;
        private final ObjectMapper mapper;

        Sink(OutputStream out, ObjectMapper mapper) {
            this.out = out;
            this.mapper = mapper;
        }

        void event(String name, Object data) throws IOException {
            write("event: " + name + "\ndata: " + mapper.writeValueAsString(data) + "\n\n");
        }

        void data(Object data) throws IOException {
            write("data: " + mapper.writeValueAsString(data) + "\n\n");
        }

        /** {@code event: token} with {@code {"delta":…}}, from pre-encoded bytes: no object tree per token. */
        void token(String delta) throws IOException {
            byte[] escaped = JsonStringEncoder.getInstance().quoteAsUTF8(delta);
            byte[] frame = new byte[TOKEN_PREFIX.length + escaped.length + TOKEN_SUFFIX.length];
            System.arraycopy(TOKEN_PREFIX, 0, frame, 0, TOKEN_PREFIX.length);
            System.arraycopy(escaped, 0, frame, TOKEN_PREFIX.length, escaped.length);
            System.arraycopy(TOKEN_SUFFIX, 0, frame, TOKEN_PREFIX.length + escaped.length, TOKEN_SUFFIX.length);
            out.write(frame);
            out.flush();
        }

        void rawData(String data) throws IOException {
            write("data: " + data + "\n\n");
        }

        void comment(String text) throws IOException {
            write(": " + text + "\n\n");
        }

        private void write(String frame) throws IOException {
            out.write(frame.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }
}

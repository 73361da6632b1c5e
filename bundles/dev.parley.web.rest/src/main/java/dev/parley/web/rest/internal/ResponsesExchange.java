package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCallDelta;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/responses} in servlet async mode, as {@link CompletionExchange} is for chat completions: the
 * provider's callback thread encodes each event ({@link ResponseFrames}) and queues it; nothing waits for the model or
 * the client.
 */
final class ResponsesExchange extends ModelExchange {
    private final ResponseFrames frames;
    /** The tool calls streamed in pieces, by index; handler calls never overlap, so no lock is needed. */
    private final List<StreamedCall> calls = new ArrayList<>();

    /** A tool call being streamed: what its done events repeat. */
    private static final class StreamedCall {
        final String id;
        final String name;
        final StringBuilder arguments = new StringBuilder();
        boolean done;

        StreamedCall(String id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    ResponsesExchange(AsyncContext async, ObjectMapper mapper, ResponseFrames frames, boolean stream, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, mapper, stream, frames::start, limits, onEnd);
        this.frames = frames;
    }

    @Override
    public void onToken(String delta) {
        if (stream) {
            writer.write(frames.delta(delta), false);
        }
    }

    /**
     * A call's first piece adds its function_call item (and ends the one before, as OpenAI streams items one after the
     * other); later pieces are argument deltas. Core passes pieces in order; one it could not have passed is dropped.
     */
    @Override
    public void onToolCallDelta(ToolCallDelta d) {
        if (!stream) {
            return;
        }
        if (d.starts()) {
            if (d.index() != calls.size()) {
                return;
            }
            byte[] previousDone = closeOpenCall("completed");
            StreamedCall call = new StreamedCall(d.id(), d.name());
            call.arguments.append(d.argumentsDelta());
            calls.add(call);
            byte[] added = frames.toolCallAdded(d.index(), d.id(), d.name(), d.argumentsDelta());
            writer.write(previousDone == null ? added : concat(previousDone, added), false);
            return;
        }
        if (d.index() >= calls.size() || d.argumentsDelta().isEmpty()) {
            return;
        }
        StreamedCall call = calls.get(d.index());
        if (call.done) {
            // The model went back to a call after starting the next: its item is done and cannot take more.
            failAndCancel(ErrorResponses.Failure.of(ErrorCode.UPSTREAM_PROTOCOL, "The model sent more of tool call "
                    + d.index() + " after starting a later one; the Responses stream cannot reopen a done item."));
            return;
        }
        call.arguments.append(d.argumentsDelta());
        writer.write(frames.argumentsDelta(d.index(), d.argumentsDelta()), false);
    }

    /** The done events of the call still open, or null. */
    private byte[] closeOpenCall(String status) {
        for (int i = 0; i < calls.size(); i++) {
            StreamedCall c = calls.get(i);
            if (!c.done) {
                c.done = true;
                return frames.toolCallDone(i, c.id, c.name, c.arguments.toString(), status);
            }
        }
        return null;
    }

    @Override
    public void onAnsweringModel(String providerId, String model) {
        frames.answering(model);
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            // The call still open is the answer's last streamed call: cut off with the answer, if it was.
            byte[] lastDone = closeOpenCall(calls.size() == r.toolCalls().size() ? ResponseFrames.status(r)
                    : "completed");
            byte[] end = frames.end(r, calls.size());
            writer.write(lastDone == null ? end : concat(lastDone, end), true);
        } else {
            respond(HttpServletResponse.SC_OK, null, "application/json", json(frames.response(r)));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    protected byte[] errorEvent(ErrorResponses.Failure failure) {
        return frames.failed(failure);
    }

    @Override
    protected Object errorBody(ErrorResponses.Failure failure) {
        return failure.openAi();
    }
}

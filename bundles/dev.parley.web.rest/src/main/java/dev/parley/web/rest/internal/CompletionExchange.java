package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.web.rest.internal.OpenAiBodies.AssistantMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletion;
import dev.parley.web.rest.internal.OpenAiBodies.Choice;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/chat/completions} in servlet async mode: core's handler for the completion. The provider's
 * callback thread encodes each event ({@link ChunkFrames}) and hands it to an {@link AsyncWriter}; no thread waits
 * for the model or the client. A client that leaves or falls too far behind, or a completion past the request
 * timeout, has the completion cancelled, which stops the upstream call.
 */
final class CompletionExchange extends ModelExchange {
    private final ChunkFrames frames;
    private final boolean includeUsage;
    /** How many tool calls went out in pieces; handler calls never overlap, so no lock is needed. */
    private int streamedCalls;

    CompletionExchange(AsyncContext async, ObjectMapper mapper, ChunkFrames frames, boolean stream,
            boolean includeUsage, Limits limits, Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, mapper, stream, frames::role, limits, onEnd);
        this.frames = frames;
        this.includeUsage = includeUsage;
    }

    @Override
    public void onToken(String delta) {
        if (stream) {
            writer.write(frames.token(delta), false);
        }
    }

    /** Core passes pieces in order (each call starts with a named piece); one it could not have passed is dropped. */
    @Override
    public void onToolCallDelta(ToolCallDelta d) {
        if (!stream) {
            return;
        }
        if (d.starts() ? d.index() != streamedCalls : d.index() >= streamedCalls) {
            return;
        }
        if (d.starts()) {
            streamedCalls++;
        }
        writer.write(frames.toolCall(d), false);
    }

    @Override
    public void onAnsweringModel(String providerId, String model) {
        frames.answering(model);
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            writer.write(frames.end(r, includeUsage, streamedCalls), true);
            return;
        }
        String answeredBy = r.model() == null ? frames.model() : r.model();
        ChatCompletion completion = new ChatCompletion(frames.id(), "chat.completion", frames.created(), answeredBy,
                // As OpenAI: content is null, not "", when the answer is tool calls only.
                List.of(new Choice(0, new AssistantMessage("assistant", r.text().isEmpty() && !r.toolCalls().isEmpty()
                        ? null : r.text(), OpenAiRequests.toolCalls(r.toolCalls(),
                        false)), RestBodies.finishReason(r.finishReason()))), OpenAiRequests.usage(r.usage()));
        respond(HttpServletResponse.SC_OK, null, "application/json", json(completion));
    }

    @Override
    protected byte[] errorEvent(ErrorResponses.Failure failure) {
        return frames.error(failure);
    }

    @Override
    protected Object errorBody(ErrorResponses.Failure failure) {
        return failure.openAi();
    }
}

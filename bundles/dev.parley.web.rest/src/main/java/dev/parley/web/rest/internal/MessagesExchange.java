package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.web.rest.internal.AnthropicBodies.Message;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One {@code POST /v1/messages} in servlet async mode, as {@link CompletionExchange} is for chat completions: the
 * provider's callback thread encodes each event ({@link MessageEvents}) and hands it to the {@link AsyncWriter}.
 */
final class MessagesExchange extends ModelExchange {
    private static final byte[] PING = SseBytes.ascii(MessageEvents.PING);

    private final MessageEvents events;
    // Handler calls never overlap, so the block state needs no lock.
    /** The index the next content block gets. */
    private int nextBlock;
    /** The block open now, or -1; whether it is the text block. Anthropic streams one block after the other. */
    private int openBlock = -1;
    private boolean openIsText;
    private boolean textStreamed;
    /** The block of each tool call streamed in pieces, by call index. */
    private final List<Integer> callBlocks = new ArrayList<>();

    MessagesExchange(AsyncContext async, ObjectMapper mapper, MessageEvents events, boolean stream, Limits limits,
            Consumer<AsyncExchange> onEnd) throws IOException {
        super(async, mapper, stream, events::start, limits, onEnd);
        this.events = events;
    }

    @Override
    public void onToken(String delta) {
        if (!stream || delta.isEmpty()) {
            return;
        }
        textStreamed = true;
        if (openBlock < 0 || !openIsText) {
            writer.write(openBlock(true).getBytes(StandardCharsets.UTF_8), false);
        }
        writer.write(events.textDelta(openBlock, delta), false);
    }

    /**
     * A call's first piece starts its tool_use block (stopping the block before); later pieces are input_json_delta
     * events. Core passes pieces in order; one it could not have passed is dropped.
     */
    @Override
    public void onToolCallDelta(ToolCallDelta d) {
        if (!stream) {
            return;
        }
        if (d.starts()) {
            if (d.index() != callBlocks.size()) {
                return;
            }
            String start = openBlock(false);
            callBlocks.add(openBlock);
            String first = d.argumentsDelta().isEmpty() ? "" : events.inputDelta(openBlock, d.argumentsDelta());
            writer.write((start + events.toolUseStart(openBlock, d.id(), d.name()) + first)
                    .getBytes(StandardCharsets.UTF_8), false);
            return;
        }
        if (d.index() >= callBlocks.size() || d.argumentsDelta().isEmpty()) {
            return;
        }
        int block = callBlocks.get(d.index());
        if (block != openBlock) {
            // The model went back to a call after starting another block: Anthropic's stream cannot reopen a block.
            failAndCancel(ErrorResponses.Failure.of(ErrorCode.UPSTREAM_PROTOCOL, "The model sent more of tool call "
                    + d.index() + " after starting a later content block; a Messages stream cannot reopen a block."));
            return;
        }
        writer.write(events.inputDelta(block, d.argumentsDelta()).getBytes(StandardCharsets.UTF_8), false);
    }

    /**
     * Stops the open block and opens the next one; returns the events to send for that ({@code content_block_start}
     * included for a text block; a tool_use block's start is the caller's).
     */
    private String openBlock(boolean text) {
        String stop = openBlock >= 0 ? MessageEvents.blockStop(openBlock) : "";
        openBlock = nextBlock++;
        openIsText = text;
        return text ? stop + MessageEvents.textBlockStart(openBlock) : stop;
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            writer.write(events.end(r, openBlock, textStreamed, callBlocks.size(), nextBlock), true);
            return;
        }
        String answeredBy = r.model() == null ? events.model() : r.model();
        Message message = new Message(events.id(), "message", "assistant", answeredBy,
                AnthropicRequests.content(r.text(), r.toolCalls(), mapper), AnthropicRequests.stopReason(r.finishReason()),
                null, AnthropicRequests.usage(r.usage()));
        respond(HttpServletResponse.SC_OK, null, "application/json", json(message));
    }

    @Override
    protected byte[] keepAlive() {
        // Anthropic keeps a quiet stream open with ping events; its SDKs skip them.
        return PING;
    }

    @Override
    protected byte[] errorEvent(ErrorResponses.Failure failure) {
        return events.error(failure);
    }

    @Override
    protected Object errorBody(ErrorResponses.Failure failure) {
        return AnthropicRequests.error(failure);
    }

    @Override
    protected int errorStatus(ErrorResponses.Failure failure) {
        return AnthropicRequests.status(failure);
    }
}

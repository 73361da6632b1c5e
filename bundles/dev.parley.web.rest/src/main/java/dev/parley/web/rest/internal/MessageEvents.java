package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.Usage;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The SSE events of one streamed Anthropic-compatible answer, as bytes, in the order Anthropic's Messages API sends
 * them: {@code message_start}, {@code ping}, then per content block {@code content_block_start},
 * {@code content_block_delta}…, {@code content_block_stop}, then {@code message_delta} (stop reason, usage) and
 * {@code message_stop}; {@code error} for a failure after the stream began. Blocks are numbered from 0 in the order
 * they start, text and tool_use alike. A text delta is a pre-encoded prefix, the JSON-escaped text and a constant
 * suffix (ADR 7): no object tree per token. {@code message_start} goes out before the answering model is known, so it
 * names the model asked for.
 */
final class MessageEvents {
    private static final byte[] TEXT_DELTA_SUFFIX = SseBytes.ascii("\"}}\n\n");
    static final String PING = "event: ping\ndata: {\"type\":\"ping\"}\n\n";

    private final ObjectMapper mapper;
    private final String id;
    private final String model;
    /** The text delta prefix of the text block open now, and that block's index. */
    private byte[] textDeltaPrefix = textDeltaPrefix(0);
    private int textDeltaIndex;

    MessageEvents(ObjectMapper mapper, String id, String model) {
        this.mapper = mapper;
        this.id = id;
        this.model = model;
    }

    String id() {
        return id;
    }

    String model() {
        return model;
    }

    /** {@code message_start} (input tokens are not known yet: they come with {@code message_delta}) and a ping. */
    byte[] start() {
        ObjectNode message = mapper.createObjectNode();
        message.put("id", id).put("type", "message").put("role", "assistant").put("model", model);
        message.putArray("content");
        message.putNull("stop_reason");
        message.putNull("stop_sequence");
        message.set("usage", mapper.valueToTree(new AnthropicBodies.Usage(0, 0, 0, 0)));
        ObjectNode event = mapper.createObjectNode().put("type", "message_start");
        event.set("message", message);
        return (event("message_start", event) + PING).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] textDeltaPrefix(int index) {
        return SseBytes.ascii("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":" + index
                + ",\"delta\":{\"type\":\"text_delta\",\"text\":\"");
    }

    /** A text delta of block {@code index} (the open text block: its prefix is built once per block). */
    byte[] textDelta(int index, String text) {
        if (index != textDeltaIndex) {
            textDeltaPrefix = textDeltaPrefix(index);
            textDeltaIndex = index;
        }
        return SseBytes.framed(textDeltaPrefix, text, TEXT_DELTA_SUFFIX);
    }

    static String textBlockStart(int index) {
        return "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":" + index
                + ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    }

    /** The start of a tool_use block: its id, name and empty input, as Anthropic streams one. */
    String toolUseStart(int index, String callId, String name) {
        ObjectNode block = mapper.createObjectNode().put("type", "tool_use").put("id", callId).put("name", name);
        block.putObject("input");
        ObjectNode start = mapper.createObjectNode().put("type", "content_block_start").put("index", index);
        start.set("content_block", block);
        return event("content_block_start", start);
    }

    /** More of a tool_use block's input JSON. */
    String inputDelta(int index, String partialJson) {
        ObjectNode delta = mapper.createObjectNode().put("type", "content_block_delta").put("index", index);
        delta.putObject("delta").put("type", "input_json_delta").put("partial_json", partialJson);
        return event("content_block_delta", delta);
    }

    /**
     * Everything after the last token or piece, as one write: the open block's stop ({@code openBlock}, -1 for
     * none), the whole text as a block when none streamed, a tool_use block per call not streamed (from index
     * {@code streamedCalls} on), {@code message_delta} and {@code message_stop}. {@code nextBlock}: the index the
     * next block gets.
     */
    byte[] end(ChatResponse r, int openBlock, boolean textStreamed, int streamedCalls, int nextBlock) {
        StringBuilder out = new StringBuilder();
        int index = nextBlock;
        if (openBlock >= 0) {
            out.append(blockStop(openBlock));
        }
        if (!textStreamed && !r.text().isEmpty()) {
            out.append(textBlockStart(index));
            out.append(new String(textDelta(index, r.text()), StandardCharsets.UTF_8));
            out.append(blockStop(index++));
        }
        List<ToolCall> calls = r.toolCalls();
        for (int i = streamedCalls; i < calls.size(); i++) {
            ToolCall call = calls.get(i);
            out.append(toolUseStart(index, call.id(), call.name()));
            out.append(inputDelta(index, AnthropicRequests.input(call, mapper).toString()));
            out.append(blockStop(index++));
        }
        ObjectNode messageDelta = mapper.createObjectNode().put("type", "message_delta");
        messageDelta.putObject("delta").put("stop_reason", AnthropicRequests.stopReason(r.finishReason()))
                .putNull("stop_sequence");
        Usage usage = r.usage();
        messageDelta.set("usage", mapper.valueToTree(AnthropicRequests.usage(usage)));
        out.append(event("message_delta", messageDelta));
        out.append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A failure after the stream began: Anthropic's {@code error} event; the stream then ends. */
    byte[] error(ErrorResponses.Failure failure) {
        return event("error", mapper.valueToTree(AnthropicRequests.error(failure))).getBytes(StandardCharsets.UTF_8);
    }

    static String blockStop(int index) {
        return "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":" + index + "}\n\n";
    }

    private String event(String name, Object data) {
        try {
            return "event: " + name + "\ndata: " + mapper.writeValueAsString(data) + "\n\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}

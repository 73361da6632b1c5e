package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.Usage;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The SSE events of one streamed Anthropic-compatible answer, as bytes, in the order Anthropic's Messages API sends
 * them: {@code message_start}, {@code ping}, then per content block {@code content_block_start},
 * {@code content_block_delta}…, {@code content_block_stop}, then {@code message_delta} (stop reason, usage) and
 * {@code message_stop}; {@code error} for a failure after the stream began. A text delta is a pre-encoded prefix,
 * the JSON-escaped text and a constant suffix (ADR 7): no object tree per token.
 */
final class MessageEvents {
    private static final byte[] TEXT_DELTA_PREFIX = SseBytes.ascii("event: content_block_delta\ndata: "
            + "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"");
    private static final byte[] TEXT_DELTA_SUFFIX = SseBytes.ascii("\"}}\n\n");
    private static final String TEXT_BLOCK_START = "event: content_block_start\ndata: "
            + "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    static final byte[] TEXT_BLOCK_START_BYTES = SseBytes.ascii(TEXT_BLOCK_START);
    static final String PING = "event: ping\ndata: {\"type\":\"ping\"}\n\n";

    private final ObjectMapper mapper;
    private final String id;
    private final String model;

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

    byte[] textDelta(String text) {
        return SseBytes.framed(TEXT_DELTA_PREFIX, text, TEXT_DELTA_SUFFIX);
    }

    /**
     * Everything after the last token, as one write: the text block's stop (its start and the whole text too, when
     * no token was streamed), a tool_use block per call, {@code message_delta} and {@code message_stop}.
     */
    byte[] end(ChatResponse r, boolean textStarted) {
        StringBuilder out = new StringBuilder();
        int index = 0;
        if (!textStarted && !r.text().isEmpty()) {
            out.append(TEXT_BLOCK_START);
            out.append(new String(textDelta(r.text()), StandardCharsets.UTF_8));
            textStarted = true;
        }
        if (textStarted) {
            out.append(blockStop(index++));
        }
        for (ToolCall call : r.toolCalls()) {
            ObjectNode block = mapper.createObjectNode().put("type", "tool_use").put("id", call.id())
                    .put("name", call.name());
            block.putObject("input");
            ObjectNode start = mapper.createObjectNode().put("type", "content_block_start").put("index", index);
            start.set("content_block", block);
            out.append(event("content_block_start", start));
            ObjectNode delta = mapper.createObjectNode().put("type", "content_block_delta").put("index", index);
            delta.putObject("delta").put("type", "input_json_delta")
                    .put("partial_json", AnthropicRequests.input(call, mapper).toString());
            out.append(event("content_block_delta", delta));
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

    private static String blockStop(int index) {
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

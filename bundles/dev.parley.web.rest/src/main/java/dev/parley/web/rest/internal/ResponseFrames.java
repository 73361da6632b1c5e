package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.Usage;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code response} object and the server-sent events of one {@code POST /v1/responses} answer, as the OpenAI
 * Responses API documents them. A text delta is a pre-encoded prefix, the JSON-escaped delta and a short suffix with
 * its sequence number: no object tree per token (ADR 7). The other events go through Jackson. The message is output
 * item 0; tool call {@code i} is a {@code function_call} item at output index {@code i + 1}.
 */
final class ResponseFrames {
    private final ObjectMapper mapper;
    private final String id;
    private final String messageId;
    private final long createdAt;
    /** The model asked for until core names the one answering ({@link #answering}). */
    private volatile String model;
    private final ResponsesRequests.ResponsesRequest request;
    private final AtomicInteger sequence = new AtomicInteger();
    private final byte[] deltaPrefix;

    ResponseFrames(ObjectMapper mapper, String id, String messageId, long createdAt, String model,
            ResponsesRequests.ResponsesRequest request) {
        this.mapper = mapper;
        this.id = id;
        this.messageId = messageId;
        this.createdAt = createdAt;
        this.model = model;
        this.request = request;
        this.deltaPrefix = ("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
                + "\"item_id\":" + quote(messageId) + ",\"output_index\":0,\"content_index\":0,\"delta\":\"")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** response.created, response.in_progress, the message item and its text part, as one write. */
    byte[] start() {
        ObjectNode item = item("in_progress", null);
        ObjectNode part = mapper.createObjectNode().put("type", "output_text").put("text", "");
        part.putArray("annotations");
        part.putArray("logprobs");
        return concat(
                event("response.created", mapper.createObjectNode().set("response", response("in_progress", null, null))),
                event("response.in_progress", mapper.createObjectNode().set("response", response("in_progress", null, null))),
                event("response.output_item.added", mapper.createObjectNode().put("output_index", 0).set("item", item)),
                event("response.content_part.added", mapper.createObjectNode().put("item_id", messageId)
                        .put("output_index", 0).put("content_index", 0).set("part", part)));
    }

    /** From now on the response names {@code answeringModel}. */
    void answering(String answeringModel) {
        this.model = answeringModel;
    }

    /** A function_call item for tool call {@code index}: output_item.added and its first arguments delta (if any). */
    byte[] toolCallAdded(int index, String callId, String name, String arguments) {
        byte[] added = event("response.output_item.added", mapper.createObjectNode().put("output_index", index + 1)
                .set("item", functionCall(index, callId, name, "", "in_progress")));
        return arguments.isEmpty() ? added : concat(added, argumentsDelta(index, arguments));
    }

    byte[] argumentsDelta(int index, String delta) {
        return event("response.function_call_arguments.delta", mapper.createObjectNode()
                .put("item_id", functionCallId(index)).put("output_index", index + 1).put("delta", delta));
    }

    /** The arguments done and the function_call item done ({@code status}: completed, or incomplete if cut off). */
    byte[] toolCallDone(int index, String callId, String name, String arguments, String status) {
        return concat(
                event("response.function_call_arguments.done", mapper.createObjectNode()
                        .put("item_id", functionCallId(index)).put("output_index", index + 1).put("name", name)
                        .put("arguments", arguments)),
                event("response.output_item.done", mapper.createObjectNode().put("output_index", index + 1)
                        .set("item", functionCall(index, callId, name, arguments, status))));
    }

    private ObjectNode functionCall(int index, String callId, String name, String arguments, String status) {
        return mapper.createObjectNode().put("type", "function_call").put("id", functionCallId(index))
                .put("call_id", callId == null ? functionCallId(index) : callId).put("name", name)
                .put("arguments", arguments).put("status", status);
    }

    private String functionCallId(int index) {
        return "fc_" + messageId.substring(messageId.indexOf('_') + 1) + "_" + index;
    }

    byte[] delta(String text) {
        byte[] suffix = ("\",\"logprobs\":[],\"sequence_number\":" + sequence.getAndIncrement() + "}\n\n")
                .getBytes(StandardCharsets.US_ASCII);
        return SseBytes.framed(deltaPrefix, text, suffix);
    }

    /**
     * The text done, the part done, the message item done, each tool call from {@code streamedCalls} on whole (added,
     * arguments, done), and response.completed (or .incomplete), as one write.
     */
    byte[] end(ChatResponse r, int streamedCalls) {
        String status = status(r);
        ObjectNode done = mapper.createObjectNode().put("item_id", messageId).put("output_index", 0)
                .put("content_index", 0).put("text", r.text());
        done.putArray("logprobs");
        ObjectNode part = mapper.createObjectNode().put("item_id", messageId).put("output_index", 0)
                .put("content_index", 0);
        part.set("part", textPart(r.text()));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(concat(
                event("response.output_text.done", done),
                event("response.content_part.done", part),
                event("response.output_item.done", mapper.createObjectNode().put("output_index", 0)
                        .set("item", item(status, r.text())))));
        List<ToolCall> calls = r.toolCalls();
        for (int i = streamedCalls; i < calls.size(); i++) {
            ToolCall c = calls.get(i);
            out.writeBytes(toolCallAdded(i, c.id(), c.name(), c.argumentsJson()));
            out.writeBytes(toolCallDone(i, c.id(), c.name(), c.argumentsJson(), callStatus(r, i)));
        }
        out.writeBytes(event(status.equals("completed") ? "response.completed" : "response.incomplete",
                mapper.createObjectNode().set("response", response(r, true))));
        return out.toByteArray();
    }

    /** A failure after the stream began: response.failed, with the error as the response's {@code error}. */
    byte[] failed(ErrorResponses.Failure failure) {
        ObjectNode response = response("failed", null, null);
        ObjectNode error = response.putObject("error");
        error.put("code", failure.openAi().error().code());
        error.put("message", failure.detail());
        return event("response.failed", mapper.createObjectNode().set("response", response));
    }

    /** The whole response, for a client that did not ask for a stream. */
    ObjectNode response(ChatResponse r) {
        return response(r, false);
    }

    /**
     * {@code streamed}: the message item went out first whatever came, so it is listed even when empty; a whole
     * answer that is only function calls lists only those, as OpenAI does.
     */
    private ObjectNode response(ChatResponse r, boolean streamed) {
        String status = status(r);
        ObjectNode response = response(status, r, usage(r.usage(), r.model()), streamed);
        if (!status.equals("completed")) {
            response.putObject("incomplete_details").put("reason",
                    r.finishReason() == FinishReason.LENGTH ? "max_output_tokens" : "content_filter");
        }
        return response;
    }

    static String status(ChatResponse r) {
        return r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.CONTENT_FILTER
                ? "incomplete" : "completed";
    }

    /** A call the model finished before its last is complete; the last is cut off with the answer, if it was. */
    static String callStatus(ChatResponse r, int index) {
        return index == r.toolCalls().size() - 1 ? status(r) : "completed";
    }

    private ObjectNode response(String status, ChatResponse r, ObjectNode usage) {
        return response(status, r, usage, true);
    }

    private ObjectNode response(String status, ChatResponse r, ObjectNode usage, boolean streamed) {
        ObjectNode o = mapper.createObjectNode();
        o.put("id", id).put("object", "response").put("created_at", createdAt).put("status", status);
        o.putNull("error");
        o.putNull("incomplete_details");
        if (request.instructions() == null) {
            o.putNull("instructions");
        } else {
            o.put("instructions", request.instructions());
        }
        if (request.maxOutputTokens() == null) {
            o.putNull("max_output_tokens");
        } else {
            o.put("max_output_tokens", request.maxOutputTokens());
        }
        o.put("model", r == null || r.model() == null ? model : r.model());
        ArrayNode output = o.putArray("output");
        if (r != null) {
            if (streamed || !r.text().isEmpty() || r.toolCalls().isEmpty()) {
                output.add(item(status, r.text()));
            }
            for (int i = 0; i < r.toolCalls().size(); i++) {
                ToolCall c = r.toolCalls().get(i);
                output.add(functionCall(i, c.id(), c.name(), c.argumentsJson(), callStatus(r, i)));
            }
        }
        o.put("parallel_tool_calls", !Boolean.FALSE.equals(request.parallelToolCalls()));
        o.putNull("previous_response_id");
        o.putObject("reasoning").putNull("effort").putNull("summary");
        o.put("store", false);
        o.put("temperature", request.temperature() == null ? 1.0 : request.temperature());
        o.set("text", ResponsesRequests.textConfig(request.text()));
        o.set("tool_choice", ResponsesRequests.toolChoiceConfig(request.toolChoice()));
        o.set("tools", ResponsesRequests.toolsConfig(request.tools()));
        o.put("top_p", request.topP() == null ? 1.0 : request.topP());
        o.put("truncation", "disabled");
        if (usage == null) {
            o.putNull("usage");
        } else {
            o.set("usage", usage);
        }
        o.putNull("user");
        o.set("metadata", request.metadata() != null && request.metadata().isObject() ? request.metadata().deepCopy()
                : mapper.createObjectNode());
        return o;
    }

    private ObjectNode item(String status, String text) {
        ObjectNode item = mapper.createObjectNode().put("type", "message").put("id", messageId).put("status", status)
                .put("role", "assistant");
        ArrayNode content = item.putArray("content");
        if (text != null) {
            content.add(textPart(text));
        }
        return item;
    }

    private ObjectNode textPart(String text) {
        ObjectNode part = mapper.createObjectNode().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        part.putArray("logprobs");
        return part;
    }

    private ObjectNode usage(Usage u, String answeredBy) {
        Usage usage = u == null ? Usage.ZERO : u;
        ObjectNode o = mapper.createObjectNode().put("input_tokens", usage.promptTokens());
        o.putObject("input_tokens_details").put("cached_tokens", usage.cachedPromptTokens());
        o.put("output_tokens", usage.completionTokens());
        o.putObject("output_tokens_details").put("reasoning_tokens", 0);
        o.put("total_tokens", usage.totalTokens());
        return o;
    }

    /** {@code event: <type>} and the data with {@code type} first and {@code sequence_number} last. */
    private byte[] event(String type, ObjectNode fields) {
        ObjectNode data = mapper.createObjectNode().put("type", type);
        data.setAll(fields);
        data.put("sequence_number", sequence.getAndIncrement());
        try {
            return ("event: " + type + "\ndata: " + mapper.writeValueAsString(data) + "\n\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] concat(byte[]... frames) {
        int n = 0;
        for (byte[] f : frames) {
            n += f.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] f : frames) {
            System.arraycopy(f, 0, out, at, f.length);
            at += f.length;
        }
        return out;
    }

    private static String quote(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }

}

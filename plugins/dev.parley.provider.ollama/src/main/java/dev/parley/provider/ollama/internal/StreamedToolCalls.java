package dev.parley.provider.ollama.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.llm.ToolCallDelta;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tool calls of one streamed answer, read from Ollama's NDJSON lines as they arrive. Ollama sends each call whole
 * ({@code {"function": {"index", "name", "arguments": {...}}}}, in a line of its own or several in one line), never its
 * arguments in pieces; langchain4j-ollama hands a call on only once the next one starts or the answer is done, so the
 * plugin reads the lines itself to pass each call on at once, as one piece.
 *
 * <p>The piece must be the call the answer ends with ({@link RequestMapping#fromLangchain}): its arguments are written
 * as langchain4j writes them (the {@code arguments} object read into a map and written back by a default Jackson
 * mapper, {@code "{}"} when that is blank) and a call without an id gets the same stable id. Not thread-safe: its call
 * serialises access.
 */
final class StreamedToolCalls {

    private static final ObjectMapper JSON = new ObjectMapper();

    private int calls;

    /** The pieces {@code line} carries, one per tool call in it, numbered on from the calls before. */
    List<ToolCallDelta> read(String line) {
        if (!line.contains("\"tool_calls\"")) {
            return List.of();
        }
        JsonNode toolCalls;
        try {
            toolCalls = JSON.readTree(line).path("message").path("tool_calls");
        } catch (IOException notJson) {
            return List.of(); // langchain4j has read the line already and the guard reports what it could not read
        }
        if (!toolCalls.isArray() || toolCalls.isEmpty()) {
            return List.of();
        }
        List<ToolCallDelta> pieces = new ArrayList<>(toolCalls.size());
        for (JsonNode call : toolCalls) {
            JsonNode function = call.path("function");
            String name = function.path("name").asText(null);
            String args = arguments(function.get("arguments"));
            String id = call.path("id").asText("");
            int index = calls++;
            if (id.isBlank()) {
                id = RequestMapping.stableId(index, name, args);
            }
            pieces.add(new ToolCallDelta(index, id, name, args));
        }
        return pieces;
    }

    private static String arguments(JsonNode node) {
        try {
            Object value = node == null || node.isNull() ? null : JSON.convertValue(node, Map.class);
            String written = JSON.writeValueAsString(value);
            return written.isBlank() ? "{}" : written;
        } catch (IOException | IllegalArgumentException e) {
            return "{}";
        }
    }
}

package dev.parley.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A request {@link FakeOpenAiServer} received.
 *
 * @param headers header names in lower case
 * @param body    the parsed JSON body, or a missing node when there was none
 */
public record RecordedRequest(String method, String path, Map<String, List<String>> headers, JsonNode body) {
    public RecordedRequest {
        headers = Map.copyOf(headers);
    }

    /** The first value of a header (any case), or null. */
    public String header(String name) {
        List<String> values = headers.get(name.toLowerCase(java.util.Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}

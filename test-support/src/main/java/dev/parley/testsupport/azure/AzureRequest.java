package dev.parley.testsupport.azure;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A request {@link FakeAzureOpenAiServer} (or {@link FakeEntraTokenServer}) received.
 *
 * @param path    the path without the query
 * @param query   the decoded query parameters
 * @param headers header names in lower case
 * @param body    the parsed JSON body (a missing node when there was none or it was a form)
 * @param rawBody the body as sent
 */
public record AzureRequest(String method, String path, Map<String, String> query, Map<String, List<String>> headers,
        JsonNode body, String rawBody) {
    public AzureRequest {
        query = Map.copyOf(query);
        headers = Map.copyOf(headers);
    }

    /** The first value of a header (any case), or null. */
    public String header(String name) {
        List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** The deployment a deployment route names, or the body's {@code model} on the v1 routes. */
    public String deployment() {
        String prefix = "/openai/deployments/";
        if (path.startsWith(prefix)) {
            String rest = path.substring(prefix.length());
            return rest.substring(0, rest.indexOf('/'));
        }
        return body.path("model").asText(null);
    }
}

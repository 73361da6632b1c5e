package dev.parley.provider.mistral.internal;

import dev.langchain4j.exception.HttpException;
import java.util.List;
import java.util.Map;

/**
 * A non-2xx answer, with the headers the library's own {@link HttpException} drops (Retry-After and the rate-limit
 * headers). It extends {@link HttpException} so the library maps it as it maps any HTTP error.
 */
final class UpstreamHttpException extends HttpException {

    private static final long serialVersionUID = 1L;

    private final transient Map<String, List<String>> headers;

    UpstreamHttpException(int statusCode, Map<String, List<String>> headers, String body) {
        super(statusCode, body);
        this.headers = headers == null ? Map.of() : headers;
    }

    String body() {
        return getMessage();
    }

    /** The first value of a header, any case, or null. */
    String header(String name) {
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey() != null && e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
                return e.getValue().get(0);
            }
        }
        return null;
    }
}

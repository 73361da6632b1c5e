package dev.parley.web.ws.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;

/** A handshake refused before the upgrade: an HTTP status with a problem body, as the REST API writes them. */
final class HandshakeRefusal {
    static final String PROBLEM_JSON = "application/problem+json";
    private static final String TYPE_PREFIX = "https://parley.dev/problems/";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    record Problem(String type, String title, int status, String detail, String code, Long retryAfterSeconds) {
    }

    private HandshakeRefusal() {
    }

    static void write(HttpServletResponse resp, ParleyException e) throws IOException {
        ErrorCode code = e.code();
        int status = switch (code) {
            case UNAUTHORIZED -> 401;
            case FORBIDDEN -> 403;
            case UNAVAILABLE -> 503;
            case INVALID_REQUEST -> 400;
            default -> 500;
        };
        String title = switch (code) {
            case UNAUTHORIZED -> "Unauthorized";
            case FORBIDDEN -> "Forbidden";
            case UNAVAILABLE -> "Service unavailable";
            case INVALID_REQUEST -> "Invalid request";
            default -> "Internal error";
        };
        ErrorCode shown = status == 500 ? ErrorCode.INTERNAL : code;
        if (code == ErrorCode.UNAUTHORIZED) {
            resp.setHeader("WWW-Authenticate", "Bearer realm=\"parley\"");
        } else if (code == ErrorCode.FORBIDDEN) {
            resp.setHeader("WWW-Authenticate", "Bearer realm=\"parley\", error=\"insufficient_scope\"");
        }
        write(resp, status, title, shown, e.getMessage(), e.retryAfter().orElse(null));
    }

    static void write(HttpServletResponse resp, int status, String title, ErrorCode code, String detail,
            Duration retryAfter) throws IOException {
        if (resp.isCommitted()) {
            return;
        }
        Long retrySeconds = retryAfter == null ? null
                : Math.max(1, retryAfter.toSeconds() + (retryAfter.toNanosPart() > 0 ? 1 : 0));
        if (retrySeconds != null) {
            resp.setHeader("Retry-After", Long.toString(retrySeconds));
        }
        byte[] body = JSON.writeValueAsBytes(new Problem(TYPE_PREFIX + code.slug(), title, status, detail, code.slug(),
                retrySeconds));
        resp.setStatus(status);
        resp.setContentType(PROBLEM_JSON);
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }
}

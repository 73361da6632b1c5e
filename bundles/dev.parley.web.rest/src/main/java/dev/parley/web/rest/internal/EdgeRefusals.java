package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * Refusals written by the servlet filters in front of every route (authentication, rate limits), before any resource
 * has run: in the error shape of the API the route belongs to — Anthropic's under {@code /v1/messages}, OpenAI's
 * elsewhere under {@code /v1}, a problem document on the native API — with {@code Retry-After} when the failure
 * has one.
 */
final class EdgeRefusals {
    private EdgeRefusals() {
    }

    static void write(ObjectMapper mapper, HttpServletRequest request, HttpServletResponse response, String path,
            ErrorResponses.Failure failure) throws IOException {
        if (response.isCommitted()) {
            return;
        }
        byte[] body;
        String type;
        if (path.equals(MessagesServlet.PATH) || path.startsWith(MessagesServlet.PATH + "/")) {
            body = mapper.writeValueAsBytes(AnthropicRequests.error(failure));
            type = "application/json";
        } else if (path.equals("/v1") || path.startsWith("/v1/")) {
            body = mapper.writeValueAsBytes(failure.openAi());
            type = "application/json";
        } else {
            body = mapper.writeValueAsBytes(failure.problem());
            type = ErrorResponses.PROBLEM_JSON;
        }
        // The request's body is never read: a client must not send its next request on this connection (the
        // container would close it under the client's feet when the body has not all arrived yet).
        boolean unreadBody = request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null;
        AsyncRequests.refuse(response, failure, type, body, unreadBody);
    }
}

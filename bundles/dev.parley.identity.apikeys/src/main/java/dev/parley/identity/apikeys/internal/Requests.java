package dev.parley.identity.apikeys.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import jakarta.servlet.http.HttpServletRequest;

/** What the keys API reads from a request besides its body: the caller and query parameters. */
final class Requests {
    static final int DEFAULT_PAGE = 50;
    static final int MAX_PAGE = 200;

    private Requests() {
    }

    /**
     * The principal the edge verified. Missing: 401 (the edge should have answered already; this is the second
     * line).
     */
    static Principal principal(HttpServletRequest request) {
        Object p = request == null ? null : request.getAttribute(Principal.REQUEST_ATTRIBUTE);
        if (p instanceof Principal principal) {
            return principal;
        }
        throw new ParleyException(ErrorCode.UNAUTHORIZED,
                "This API needs a credential: 'Authorization: Bearer <access token or API key>'.");
    }

    static String sourceAddress(HttpServletRequest request) {
        return request == null ? "" : request.getRemoteAddr();
    }

    static int intParam(String name, String value, int dflt, int min, int max) {
        if (value == null || value.isBlank()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(value.strip());
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below, like an out-of-range value
        }
        throw ParleyException.invalid(name, "Query parameter '" + name + "' must be an integer from " + min + " to "
                + max + ".");
    }

    static Boolean booleanParam(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        return switch (value.strip()) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            default -> throw ParleyException.invalid(name, "Query parameter '" + name + "' must be true or false.");
        };
    }

    static String textParam(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        if (value.length() > 200) {
            throw ParleyException.invalid(name, "Query parameter '" + name + "' is at most 200 characters.");
        }
        return value.strip();
    }
}

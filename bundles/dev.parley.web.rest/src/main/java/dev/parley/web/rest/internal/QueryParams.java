package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/** Query parameters of the native API, checked the same way everywhere: a bad one is a 400 naming it. */
final class QueryParams {
    private QueryParams() {
    }

    static int intParam(String name, String value, int dflt, int min, int max) {
        if (value == null || value.isBlank()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(value.trim());
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below, like an out-of-range value
        }
        throw new ParleyException(ErrorCode.INVALID_REQUEST,
                "Query parameter '" + name + "' must be an integer from " + min + " to " + max + ".");
    }

    /** An ISO-8601 instant ({@code 2026-12-01T00:00:00Z}) or date-time with offset; null when absent. */
    static Instant instantParam(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value.trim()).toInstant();
        } catch (DateTimeParseException e) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Query parameter '" + name
                    + "' must be an ISO-8601 date-time with an offset, e.g. 2026-12-01T00:00:00Z.");
        }
    }

    /** A plain text filter; null when absent, refused when longer than a column could hold. */
    static String textParam(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        if (value.length() > 400) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Query parameter '" + name + "' is too long.");
        }
        return value.strip();
    }
}

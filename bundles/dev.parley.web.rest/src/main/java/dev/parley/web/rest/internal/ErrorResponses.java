package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimitedException;
import dev.parley.web.rest.internal.OpenAiBodies.ErrorBody;
import dev.parley.web.rest.internal.OpenAiBodies.ErrorEnvelope;
import dev.parley.web.rest.internal.RestBodies.Problem;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.time.Duration;

/**
 * The one place where Parley's error model becomes HTTP: problem details for the native API, OpenAI error
 * objects for everything under {@code /v1}.
 */
final class ErrorResponses {
    static final String PROBLEM_JSON = "application/problem+json";
    static final MediaType PROBLEM_JSON_TYPE = MediaType.valueOf(PROBLEM_JSON);
    static final String TYPE_PREFIX = "https://parley.dev/problems/";

    private ErrorResponses() {
    }

    /** One error, whatever produced it. {@code status} may differ from the code's (405, 415, 406). */
    record Failure(int status, ErrorCode code, String title, String detail, Duration retryAfter, String param,
            RateHeaders rateLimit) {
        Failure(int status, ErrorCode code, String title, String detail, Duration retryAfter) {
            this(status, code, title, detail, retryAfter, null, null);
        }

        Failure(int status, ErrorCode code, String title, String detail, Duration retryAfter, String param) {
            this(status, code, title, detail, retryAfter, param, null);
        }

        static Failure of(ParleyException e) {
            RateHeaders rate = e instanceof RateLimitedException r ? RateHeaders.of(r.policy(), r.decision()) : null;
            return new Failure(ErrorResponses.status(e.code()), e.code(), ErrorResponses.title(e.code()), e.getMessage(),
                    e.retryAfter().orElse(null), e.param().orElse(null), rate);
        }

        /** The same failure answered with another status (an API's own mapping). */
        Failure withStatus(int other) {
            return new Failure(other, code, title, detail, retryAfter, param, rateLimit);
        }

        /** Sets {@code Retry-After} and, for a refusal by a Parley rate limit, the {@code RateLimit*} headers. */
        void headers(HttpServletResponse response) {
            Long retry = retryAfterSeconds();
            if (retry != null) {
                response.setHeader("Retry-After", Long.toString(retry));
            }
            if (rateLimit != null) {
                response.setHeader(RateLimitFilter.POLICY_HEADER, rateLimit.policy());
                response.setHeader(RateLimitFilter.LIMIT_HEADER, rateLimit.limit());
            }
        }

        static Failure of(ErrorCode code, String detail) {
            return new Failure(ErrorResponses.status(code), code, ErrorResponses.title(code), detail, null);
        }

        Long retryAfterSeconds() {
            if (retryAfter == null) {
                return null;
            }
            return ceilSeconds(retryAfter);
        }

        Problem problem() {
            return new Problem(TYPE_PREFIX + code.slug(), title, status, detail, code.slug(), retryAfterSeconds());
        }

        ErrorEnvelope openAi() {
            String type;
            String errorCode = code.slug().replace('-', '_');
            if (code == ErrorCode.RATE_LIMITED) {
                type = "rate_limit_error";
                errorCode = "rate_limit_exceeded";
            } else if (code == ErrorCode.BUDGET_EXCEEDED) {
                // OpenAI's own type for a quota that ran out; the code says it is a Parley budget.
                type = "insufficient_quota";
                errorCode = "budget_exceeded";
            } else if (code == ErrorCode.OVERLOADED) {
                type = "server_error";
                errorCode = "overloaded";
            } else if (code == ErrorCode.CONTEXT_TOO_LONG) {
                type = "invalid_request_error";
                errorCode = "context_length_exceeded";
            } else if (code == ErrorCode.UNAUTHORIZED) {
                // What OpenAI answers for a missing or wrong key; its SDKs raise AuthenticationError on the 401.
                type = "invalid_request_error";
                errorCode = "invalid_api_key";
            } else if (code == ErrorCode.CONTENT_FILTERED) {
                type = "invalid_request_error";
                errorCode = "content_filter";
            } else if (status >= 500 || code == ErrorCode.PROVIDER_AUTH || code == ErrorCode.PROVIDER_PERMISSION) {
                type = "server_error";
            } else {
                type = "invalid_request_error";
            }
            return new ErrorEnvelope(new ErrorBody(detail, type, param, errorCode));
        }
    }

    /**
     * {@code RateLimit-Policy} and {@code RateLimit} (draft-ietf-httpapi-ratelimit-headers-11) of one decision:
     * {@code "name";q=600;w=60} and {@code "name";r=99;t=1}. {@code t} is the time until the burst is whole again, or,
     * refused, until the request would pass, which {@code Retry-After} repeats (it must not point earlier).
     */
    record RateHeaders(String policy, String limit) {
        static RateHeaders of(String name, RateDecision decision) {
            String quoted = "\"" + name + "\"";
            long window = Math.max(1, ceilSeconds(decision.limit().period()));
            long t = ceilSeconds(decision.allowed() ? decision.resetAfter() : decision.retryAfter());
            long r = decision.allowed() ? decision.remaining() : 0;
            return new RateHeaders(quoted + ";q=" + decision.limit().amount() + ";w=" + window,
                    quoted + ";r=" + r + ";t=" + t);
        }
    }

    /** Whole seconds, rounded up (retrying early only earns another 429); never negative. */
    static long ceilSeconds(Duration d) {
        long s = d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0);
        return Math.max(0, s);
    }

    static int status(ErrorCode code) {
        return switch (code) {
            case INVALID_REQUEST -> 400;
            case TOO_LARGE -> 413;
            case NOT_FOUND, MODEL_NOT_FOUND -> 404;
            case NO_PROVIDER, UNAVAILABLE -> 503;
            case PROVIDER_AUTH, PROVIDER_PERMISSION, UPSTREAM_FAILURE, UPSTREAM_PROTOCOL -> 502;
            case OVERLOADED -> 503;
            case CONTEXT_TOO_LONG, CONTENT_FILTERED -> 400;
            case RATE_LIMITED -> 429;
            case UPSTREAM_TIMEOUT -> 504;
            case CANCELLED, CONFLICT -> 409;
            case UNAUTHORIZED -> 401;
            case FORBIDDEN -> 403;
            case BUDGET_EXCEEDED -> 402;
            case PLUGIN_REJECTED -> 422;
            case STORE_FAILURE, INTERNAL -> 500;
        };
    }

    static String title(ErrorCode code) {
        return switch (code) {
            case INVALID_REQUEST -> "Invalid request";
            case TOO_LARGE -> "Request too large";
            case NOT_FOUND -> "Not found";
            case NO_PROVIDER -> "No model provider configured";
            case MODEL_NOT_FOUND -> "Model not found";
            case PROVIDER_AUTH -> "Model provider rejected the credentials";
            case PROVIDER_PERMISSION -> "Model provider refused the credentials this request";
            case RATE_LIMITED -> "Rate limited";
            case OVERLOADED -> "Model provider overloaded";
            case CONTEXT_TOO_LONG -> "Context too long";
            case CONTENT_FILTERED -> "Content filtered";
            // Also an identity provider's (an OIDC issuer): the title names neither, the detail says which.
            case UPSTREAM_FAILURE -> "Upstream service failed";
            case UPSTREAM_TIMEOUT -> "Upstream service timed out";
            case UPSTREAM_PROTOCOL -> "Upstream service answered invalid data";
            case CANCELLED -> "Cancelled";
            case UNAUTHORIZED -> "Unauthorized";
            case FORBIDDEN -> "Forbidden";
            case BUDGET_EXCEEDED -> "Budget exceeded";
            case CONFLICT -> "Conflict";
            case PLUGIN_REJECTED -> "Plugin rejected";
            case UNAVAILABLE -> "Service unavailable";
            case STORE_FAILURE -> "Storage failed";
            case INTERNAL -> "Internal error";
        };
    }

    /** The OpenAI-compatible API lives under {@code /v1}; the native one under {@code /api/v1}. */
    static boolean isOpenAiPath(UriInfo uriInfo) {
        if (uriInfo == null) {
            return false;
        }
        String path = uriInfo.getPath();
        while (path.startsWith("/")) {
            path = path.substring(1);
        }
        return path.equals("v1") || path.startsWith("v1/");
    }

    static Response response(Failure failure, boolean openAi) {
        Response.ResponseBuilder builder = Response.status(failure.status());
        Long retry = failure.retryAfterSeconds();
        if (retry != null) {
            builder.header(HttpHeaders.RETRY_AFTER, retry);
        }
        if (failure.rateLimit() != null) {
            builder.header(RateLimitFilter.POLICY_HEADER, failure.rateLimit().policy());
            builder.header(RateLimitFilter.LIMIT_HEADER, failure.rateLimit().limit());
        }
        if (failure.status() == 413) {
            // The rest of the body is never read: the client must not send its next request on this connection.
            builder.header("Connection", "close");
        }
        if (openAi) {
            builder.type(MediaType.APPLICATION_JSON_TYPE).entity(failure.openAi());
        } else {
            builder.type(PROBLEM_JSON_TYPE).entity(failure.problem());
        }
        return builder.build();
    }
}

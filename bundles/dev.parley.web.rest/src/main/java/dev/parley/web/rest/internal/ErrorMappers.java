package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.web.rest.internal.ErrorResponses.Failure;
import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Request;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.ext.ExceptionMapper;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every exception that reaches Jersey becomes a problem (native API) or an OpenAI error object ({@code /v1}),
 * never a stack trace. Registered by {@link ParleyRestFeature}.
 */
final class ErrorMappers {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorMappers.class);

    private ErrorMappers() {
    }

    /** Shared by the mappers: find the most meaningful failure in a cause chain. */
    abstract static class Base<E extends Throwable> implements ExceptionMapper<E> {
        @Context
        UriInfo uriInfo;
        @Context
        Request request;

        Response respond(Failure failure) {
            return ErrorResponses.response(failure, ErrorResponses.isOpenAiPath(uriInfo));
        }

        Failure classify(Throwable e) {
            // Readers and Jackson wrap what they cannot handle; the innermost known type says what happened.
            for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t instanceof ParleyException pe) {
                    return Failure.of(pe);
                }
            }
            for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t instanceof JsonProcessingException je) {
                    return json(je);
                }
                if (t instanceof WebApplicationException we) {
                    return webApplication(we);
                }
            }
            return unexpected(e);
        }

        Failure unexpected(Throwable e) {
            String errorId = UUID.randomUUID().toString();
            LOG.error("unhandled request failure errorId={} method={} path={}", errorId,
                    request == null ? "?" : request.getMethod(), uriInfo == null ? "?" : uriInfo.getPath(), e);
            return Failure.of(ErrorCode.INTERNAL, "Unexpected server error; reference id " + errorId + ".");
        }

        Failure webApplication(WebApplicationException e) {
            int status = e.getResponse() == null ? 500 : e.getResponse().getStatus();
            String method = request == null ? "" : request.getMethod();
            return switch (status) {
                case 404 -> Failure.of(ErrorCode.NOT_FOUND,
                        "No resource at /" + (uriInfo == null ? "" : stripSlash(uriInfo.getPath())) + ".");
                case 405 -> new Failure(405, ErrorCode.INVALID_REQUEST, "Method not allowed",
                        "Method " + method + " is not allowed here.", null);
                case 406 -> new Failure(406, ErrorCode.INVALID_REQUEST, "Not acceptable",
                        "None of the accepted media types can be produced here.", null);
                case 413 -> Failure.of(ErrorCode.TOO_LARGE, "The request body is too large.");
                case 415 -> new Failure(415, ErrorCode.INVALID_REQUEST, "Unsupported media type",
                        "This content type is not supported here; send application/json.", null);
                default -> {
                    if (status >= 500) {
                        yield unexpected(e);
                    }
                    Response.StatusType type = Response.Status.fromStatusCode(status);
                    String title = type == null ? "Invalid request" : type.getReasonPhrase();
                    // Jersey's own 4xx messages (e.g. parameter conversion) carry no internals.
                    String detail = e.getMessage() == null || e.getMessage().startsWith("HTTP ") ? title : e.getMessage();
                    yield new Failure(status, ErrorCode.INVALID_REQUEST, title, detail, null);
                }
            };
        }

        private static String stripSlash(String path) {
            return path.startsWith("/") ? path.substring(1) : path;
        }

        static Failure json(JsonProcessingException e) {
            if (e instanceof MismatchedInputException mi && !mi.getPath().isEmpty()) {
                return Failure.of(ErrorCode.INVALID_REQUEST,
                        "Invalid value for field '" + path(mi) + "': expected " + expected(mi.getTargetType()) + ".");
            }
            if (e instanceof JsonMappingException jm && !jm.getPath().isEmpty()) {
                return Failure.of(ErrorCode.INVALID_REQUEST, "Invalid value for field '" + path(jm) + "'.");
            }
            if (e instanceof MismatchedInputException mi) {
                return Failure.of(ErrorCode.INVALID_REQUEST,
                        "The request body must be " + expected(mi.getTargetType()) + at(e.getLocation()) + ".");
            }
            return Failure.of(ErrorCode.INVALID_REQUEST, "Malformed JSON" + at(e.getLocation()) + ".");
        }

        private static String at(JsonLocation location) {
            if (location == null || location.getLineNr() < 0) {
                return "";
            }
            return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
        }

        private static String path(JsonMappingException e) {
            StringBuilder sb = new StringBuilder();
            for (JsonMappingException.Reference ref : e.getPath()) {
                if (ref.getFieldName() != null) {
                    if (sb.length() > 0) {
                        sb.append('.');
                    }
                    sb.append(ref.getFieldName());
                } else if (ref.getIndex() >= 0) {
                    sb.append('[').append(ref.getIndex()).append(']');
                }
            }
            return sb.toString();
        }

        private static String expected(Class<?> type) {
            if (type == null) {
                return "a different type";
            }
            if (type == String.class || CharSequence.class.isAssignableFrom(type)) {
                return "a string";
            }
            if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
                return "an integer";
            }
            if (Number.class.isAssignableFrom(type) || type.isPrimitive() && type != boolean.class) {
                return "a number";
            }
            if (type == Boolean.class || type == boolean.class) {
                return "a boolean";
            }
            if (type.isArray() || Collection.class.isAssignableFrom(type)) {
                return "an array";
            }
            if (Map.class.isAssignableFrom(type) || type.isRecord()) {
                return "a JSON object";
            }
            return "a different type";
        }
    }

    static final class ParleyExceptionMapper extends Base<ParleyException> {
        @Override
        public Response toResponse(ParleyException e) {
            Failure failure = Failure.of(e);
            if (e.code() == ErrorCode.INTERNAL || e.code() == ErrorCode.STORE_FAILURE) {
                LOG.warn("request failed code={} path={}", e.code().slug(), uriInfo == null ? "?" : uriInfo.getPath(), e);
            }
            return respond(failure);
        }
    }

    static final class WebApplicationExceptionMapper extends Base<WebApplicationException> {
        @Override
        public Response toResponse(WebApplicationException e) {
            Failure failure = classifyWebApplication(e);
            Response response = respond(failure);
            if (failure.status() == 405 && e.getResponse() != null) {
                String allow = e.getResponse().getHeaderString(HttpHeaders.ALLOW);
                if (allow != null) {
                    return Response.fromResponse(response).header(HttpHeaders.ALLOW, allow).build();
                }
            }
            return response;
        }

        private Failure classifyWebApplication(WebApplicationException e) {
            Throwable cause = e.getCause();
            // Jersey reports a body its readers could not parse as 400 with the reader's exception as cause.
            if (cause != null && !(request != null && HttpMethod.OPTIONS.equals(request.getMethod()))) {
                Failure inner = classify(cause);
                if (inner.code() != ErrorCode.INTERNAL) {
                    return inner;
                }
            }
            return webApplication(e);
        }
    }

    static final class JsonExceptionMapper extends Base<JsonProcessingException> {
        @Override
        public Response toResponse(JsonProcessingException e) {
            return respond(classify(e));
        }
    }

    static final class UnexpectedExceptionMapper extends Base<Throwable> {
        @Override
        public Response toResponse(Throwable e) {
            return respond(classify(e));
        }
    }
}

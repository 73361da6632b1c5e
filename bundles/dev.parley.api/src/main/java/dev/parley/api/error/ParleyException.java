package dev.parley.api.error;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The one exception type that crosses Parley's API boundaries. Its message is safe to show to a user. */
public class ParleyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final Duration retryAfter;
    private final String param;

    public ParleyException(ErrorCode code, String message) {
        this(code, message, null, null);
    }

    public ParleyException(ErrorCode code, String message, Throwable cause) {
        this(code, message, null, cause);
    }

    public ParleyException(ErrorCode code, String message, Duration retryAfter, Throwable cause) {
        this(code, message, retryAfter, cause, null);
    }

    /**
     * @param param the request field the error is about, as a path into the request ({@code messages[2].tool_call_id},
     *              {@code tools[0].function.parameters}); null when it is about no single field
     * @since 1.3
     */
    public ParleyException(ErrorCode code, String message, Duration retryAfter, Throwable cause, String param) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
        this.retryAfter = retryAfter;
        this.param = param;
    }

    /** An {@link ErrorCode#INVALID_REQUEST} about the request field {@code param}. @since 1.3 */
    public static ParleyException invalid(String param, String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message, null, null, param);
    }

    public ErrorCode code() {
        return code;
    }

    /** How long the caller should wait before retrying, when the cause told us. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /**
     * The request field the error is about, as a path into the request ({@code messages[2].tool_call_id}), when
     * there is one; edges that report a field (OpenAI's {@code error.param}) show it.
     *
     * @since 1.3
     */
    public Optional<String> param() {
        return Optional.ofNullable(param);
    }
}

package dev.parley.api.error;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The one exception type that crosses Parley's API boundaries. Its message is safe to show to a user. */
public class ParleyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final Duration retryAfter;

    public ParleyException(ErrorCode code, String message) {
        this(code, message, null, null);
    }

    public ParleyException(ErrorCode code, String message, Throwable cause) {
        this(code, message, null, cause);
    }

    public ParleyException(ErrorCode code, String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
        this.retryAfter = retryAfter;
    }

    public ErrorCode code() {
        return code;
    }

    /** How long the caller should wait before retrying, when the cause told us. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}

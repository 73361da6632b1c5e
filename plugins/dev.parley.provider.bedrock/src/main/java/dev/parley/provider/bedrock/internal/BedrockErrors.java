package dev.parley.provider.bedrock.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.http.SdkHttpResponse;

/**
 * Maps what the SDK reports (Bedrock's HTTP errors with their {@code x-amzn-ErrorType}, exception events inside
 * the event stream, transport failures) into Parley's one error model. Bedrock's errors are documented per operation
 * ("Errors" of Converse, ConverseStream and InvokeModel in the Bedrock API reference) and, for signing and
 * credentials, in the "Common Errors" page of the AWS API reference.
 */
final class BedrockErrors {

    private static final int MAX_UPSTREAM_MESSAGE = 500;

    private BedrockErrors() {
    }

    static ParleyException map(Throwable error, String model) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
            if (t instanceof ParleyException pe) {
                return pe;
            }
            if (t instanceof AwsServiceException aws) {
                return fromService(aws, model);
            }
            if (t instanceof ApiCallTimeoutException || t instanceof ApiCallAttemptTimeoutException
                    || t instanceof TimeoutException) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Bedrock did not answer in time", t);
            }
            String name = t.getClass().getName();
            if (name.endsWith("ReadTimeoutException") || name.endsWith("ConnectTimeoutException")
                    || name.endsWith("WriteTimeoutException")) {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, name.contains("Connect")
                        ? "timed out connecting to Bedrock" : "Bedrock went silent for longer than the read timeout", t);
            }
            if (name.startsWith("software.amazon.awssdk.eventstream.") || name.endsWith("JsonParseException")
                    || name.endsWith("JsonEOFException") || isDecodingFailure(t)) {
                return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "Bedrock sent an event that is not valid for its protocol", t);
            }
            if (t instanceof ConnectException || t instanceof UnknownHostException) {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot connect to Bedrock", t);
            }
            if (t instanceof CancellationException) {
                return new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled", t);
            }
        }
        String message = String.valueOf(error.getMessage()).toLowerCase(Locale.ROOT);
        if (message.contains("timed out") || message.contains("timeout")) {
            return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Bedrock did not answer in time", error);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "the connection to Bedrock failed before the answer was complete", error);
    }

    private static boolean isDecodingFailure(Throwable t) {
        String m = t.getMessage();
        if (m == null) {
            return false;
        }
        String lower = m.toLowerCase(Locale.ROOT);
        return lower.contains("checksum") || lower.contains("crc") || lower.contains("unable to unmarshall")
                || lower.contains("prelude");
    }

    private static ParleyException fromService(AwsServiceException e, String model) {
        AwsErrorDetails details = e.awsErrorDetails();
        String code = details == null || details.errorCode() == null ? "" : details.errorCode();
        String upstream = shorten(details == null || details.errorMessage() == null ? "(no message)"
                : details.errorMessage());
        int status = e.statusCode();
        String lower = code.toLowerCase(Locale.ROOT);
        switch (lower) {
            case "unrecognizedclientexception", "invalidsignatureexception", "incompletesignatureexception",
                    "missingauthenticationtokenexception", "expiredtokenexception", "invalidclienttokenid",
                    "signaturedoesnotmatch", "missingauthenticationtoken", "invalidaccesskeyid" -> {
                // The upstream text may quote the access key id or the string to sign: leave it out.
                return new ParleyException(ErrorCode.PROVIDER_AUTH,
                        "Bedrock rejected the AWS credentials (" + code + ") — check the access key, secret and "
                                + "session token", e);
            }
            case "accessdeniedexception" -> {
                return new ParleyException(ErrorCode.PROVIDER_PERMISSION,
                        "the AWS credentials may not use model '" + model + "' on Bedrock: " + upstream, e);
            }
            case "throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception" -> {
                return new ParleyException(ErrorCode.RATE_LIMITED, "Bedrock is throttling: " + upstream,
                        retryAfter(details).orElse(null), e);
            }
            case "modelnotreadyexception", "serviceunavailableexception" -> {
                return new ParleyException(ErrorCode.OVERLOADED, "Bedrock cannot take the request now: " + upstream,
                        retryAfter(details).orElse(null), e);
            }
            case "modeltimeoutexception" -> {
                return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "the model timed out on Bedrock: " + upstream,
                        e);
            }
            case "resourcenotfoundexception" -> {
                return new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                        "model '" + model + "' not found on Bedrock: " + upstream, e);
            }
            case "validationexception" -> {
                return validation(upstream, e);
            }
            case "modelstreamerrorexception" -> {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "the model failed in the middle of the answer: " + upstream, e);
            }
            case "internalserverexception", "modelerrorexception" -> {
                return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                        "Bedrock failed (" + code + "): " + upstream, e);
            }
            default -> {
                // An error the API reference does not list for these operations: judge it by its status.
            }
        }
        if (status == 401 || status == 403) {
            return new ParleyException(ErrorCode.PROVIDER_AUTH,
                    "Bedrock rejected the AWS credentials (HTTP " + status + ")", e);
        }
        if (status == 429) {
            return new ParleyException(ErrorCode.RATE_LIMITED, "Bedrock is throttling: " + upstream,
                    retryAfter(details).orElse(null), e);
        }
        if (status == 503) {
            return new ParleyException(ErrorCode.OVERLOADED, "Bedrock cannot take the request now: " + upstream, e);
        }
        if (status == 408) {
            return new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Bedrock timed out: " + upstream, e);
        }
        if (status >= 400 && status < 500) {
            return validation(upstream, e);
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                "Bedrock failed (" + (code.isEmpty() ? "HTTP " + status : code) + "): " + upstream, e);
    }

    /** A ValidationException: a prompt too long for the model is one, told apart by its message. */
    private static ParleyException validation(String upstream, Throwable cause) {
        String lower = upstream.toLowerCase(Locale.ROOT);
        if (lower.contains("input is too long") || lower.contains("too many input tokens")
                || lower.contains("context window") || lower.contains("context length")
                || lower.contains("prompt is too long")) {
            return new ParleyException(ErrorCode.CONTEXT_TOO_LONG,
                    "the conversation is too long for the model: " + upstream, cause);
        }
        return new ParleyException(ErrorCode.INVALID_REQUEST, "Bedrock rejected the request: " + upstream, cause);
    }

    /**
     * Bedrock documents no retry hint on throttling; when a {@code Retry-After} header (seconds) does come, as some
     * AWS front ends send it, it is passed on.
     */
    private static Optional<Duration> retryAfter(AwsErrorDetails details) {
        if (details == null) {
            return Optional.empty();
        }
        SdkHttpResponse http = details.sdkHttpResponse();
        if (http == null) {
            return Optional.empty();
        }
        return http.firstMatchingHeader("Retry-After").flatMap(v -> {
            try {
                long seconds = (long) Math.ceil(Double.parseDouble(v.trim()));
                return seconds >= 0 ? Optional.of(Duration.ofSeconds(seconds)) : Optional.empty();
            } catch (NumberFormatException notSeconds) {
                return Optional.empty();
            }
        });
    }

    static String shorten(String message) {
        return message.length() > MAX_UPSTREAM_MESSAGE ? message.substring(0, MAX_UPSTREAM_MESSAGE) + "…" : message;
    }
}

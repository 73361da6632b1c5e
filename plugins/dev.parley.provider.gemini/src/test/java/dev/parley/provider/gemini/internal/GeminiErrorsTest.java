package dev.parley.provider.gemini.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** google.rpc.Status bodies as the Gemini API sends them, and what Parley makes of them. */
class GeminiErrorsTest {

    static String status(int code, String status, String message, String details) {
        return "{\"error\":{\"code\":" + code + ",\"message\":\"" + message + "\",\"status\":\"" + status + "\""
                + (details == null ? "" : ",\"details\":" + details) + "}}";
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            400 | INVALID_ARGUMENT    | API key not valid. Please pass a valid API key.              | PROVIDER_AUTH
            401 | UNAUTHENTICATED     | Request had invalid authentication credentials.              | PROVIDER_AUTH
            403 | PERMISSION_DENIED   | Method doesn't allow unregistered callers                    | PROVIDER_AUTH
            403 | PERMISSION_DENIED   | You do not have permission to access tuned model x           | PROVIDER_PERMISSION
            400 | FAILED_PRECONDITION | User location is not supported for the API use.              | PROVIDER_PERMISSION
            429 | RESOURCE_EXHAUSTED  | You exceeded your current quota                              | RATE_LIMITED
            400 | INVALID_ARGUMENT    | The input token count (1200000) exceeds the maximum number of tokens allowed (1048576). | CONTEXT_TOO_LONG
            400 | INVALID_ARGUMENT    | Unable to submit request because it has an empty text parameter. | INVALID_REQUEST
            404 | NOT_FOUND           | models/foo is not found for API version v1beta               | MODEL_NOT_FOUND
            500 | INTERNAL            | An internal error has occurred.                              | UPSTREAM_FAILURE
            503 | UNAVAILABLE         | The model is overloaded. Please try again later.             | OVERLOADED
            504 | DEADLINE_EXCEEDED   | Deadline expired before operation could complete.            | UPSTREAM_TIMEOUT
            """)
    void mapsEachDocumentedStatus(int code, String status, String message, ErrorCode expected) {
        ParleyException e = GeminiErrors.fromHttp(code, status(code, status, message, null), "AIza-test-0000");
        assertThat(e.code()).isEqualTo(expected);
        assertThat(e.getMessage()).contains(status).contains(message);
    }

    @Test
    void theApiKeyInvalidReasonIsAuthWhateverTheMessage() {
        String details = "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\","
                + "\"domain\":\"googleapis.com\"}]";
        assertThat(GeminiErrors.fromHttp(400, status(400, "INVALID_ARGUMENT", "Bad.", details), "AIza-test-0000").code())
                .isEqualTo(ErrorCode.PROVIDER_AUTH);
    }

    @ParameterizedTest
    @CsvSource({"20s,20000", "1.5s,1500", "37.123456s,37123", "0s,0"})
    void readsTheRetryDelay(String delay, long millis) {
        String details = "[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[]},"
                + "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"" + delay + "\"}]";
        ParleyException e = GeminiErrors.fromHttp(429, status(429, "RESOURCE_EXHAUSTED", "quota", details), "AIza-test-0000");
        assertThat(e.retryAfter()).hasValueSatisfying(d -> assertThat(d.toMillis()).isEqualTo(millis));
    }

    @Test
    void aBodyThatIsNotAStatusIsMappedByTheHttpStatus() {
        assertThat(GeminiErrors.fromHttp(502, "<html>Bad Gateway</html>", "AIza-test-0000").code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(GeminiErrors.fromHttp(429, "", "AIza-test-0000").retryAfter()).isEmpty();
        assertThat(GeminiErrors.parseDelay("soon")).isNull();
        assertThat(GeminiErrors.parseDelay("2s")).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void theKeyNeverReachesAMessage() {
        ParleyException e = GeminiErrors.fromHttp(400,
                status(400, "INVALID_ARGUMENT", "API key AIza-secret-1 not valid", null), "AIza-secret-1");
        assertThat(e.getMessage()).doesNotContain("AIza-secret-1").contains("***");
    }
}

package dev.parley.testsupport.azure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link FakeAzureOpenAiServer} does with one chat-completions request: queued (used once) or set as the
 * default. Configure it before the request that uses it arrives.
 */
public final class AzureBehaviour {

    enum Kind { REPLY, ECHO, TOOL_CALLS, FAIL }

    /** One tool call of an answer. */
    public record Call(String id, String name, String argumentsJson) {
    }

    final Kind kind;
    final String text;
    final List<Call> calls;
    final int status;
    final String errorCode;
    final String errorMessage;
    volatile String innerErrorCode;
    volatile boolean contentFilterResult;
    volatile long retryAfterSeconds = -1;
    volatile long retryAfterMs = -1;
    volatile String finishReason = "stop";
    volatile int cutAfter = -1;
    volatile int malformedAfter = -1;
    volatile int errorEventAfter = -1;
    volatile String errorEventCode = "server_error";
    volatile int cachedTokens;
    volatile Duration firstTokenDelay;
    volatile Duration tokenDelay;
    volatile boolean filterFinish;
    volatile int argumentPieceChars;
    volatile String textBeforeCalls;

    private AzureBehaviour(Kind kind, String text, List<Call> calls, int status, String errorCode, String errorMessage) {
        this.kind = kind;
        this.text = text;
        this.calls = List.copyOf(calls);
        this.status = status;
        this.errorCode = errorCode;
        this.errorMessage = errorMessage;
    }

    /** Answers {@code text}, one word per chunk. */
    public static AzureBehaviour reply(String text) {
        return new AzureBehaviour(Kind.REPLY, text, List.of(), 200, null, null);
    }

    /** Answers {@code "echo: " + <last user text>}. */
    public static AzureBehaviour echo() {
        return new AzureBehaviour(Kind.ECHO, null, List.of(), 200, null, null);
    }

    /** Answers with these tool calls (several = parallel calls), {@code finish_reason: tool_calls}. */
    public static AzureBehaviour toolCalls(Call... calls) {
        AzureBehaviour b = new AzureBehaviour(Kind.TOOL_CALLS, null, List.of(calls), 200, null, null);
        b.finishReason = "tool_calls";
        return b;
    }

    /** Fails with {@code status} and Azure's error object {@code {"error": {"code": code, "message": message}}}. */
    public static AzureBehaviour fail(int status, String code, String message) {
        return new AzureBehaviour(Kind.FAIL, null, List.of(), status, code, message);
    }

    /** 401 as Azure sends it for a wrong api-key. */
    public static AzureBehaviour unauthorized() {
        return fail(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                + "provide a valid key for an active subscription and use a correct regional API endpoint for your "
                + "resource.");
    }

    /** 403 as Azure sends it when the principal lacks the data action (RBAC). */
    public static AzureBehaviour permissionDenied() {
        return fail(403, "PermissionDenied", "The principal `00000000-0000-0000-0000-000000000000` lacks the required "
                + "data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to "
                + "perform `POST /openai/deployments/{deployment-id}/chat/completions` operation.");
    }

    /** 429 with {@code retry-after} (seconds) and {@code retry-after-ms}, as Azure's quota errors come. */
    public static AzureBehaviour rateLimited(long retryAfterSeconds, long retryAfterMs) {
        AzureBehaviour b = fail(429, "429", "Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                + "version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please "
                + "retry after " + retryAfterSeconds + " seconds.");
        b.retryAfterSeconds = retryAfterSeconds;
        b.retryAfterMs = retryAfterMs;
        return b;
    }

    /** 400 {@code context_length_exceeded}, in the OpenAI error shape Azure passes through. */
    public static AzureBehaviour contextLengthExceeded() {
        return fail(400, "context_length_exceeded", "This model's maximum context length is 128000 tokens. However, "
                + "your messages resulted in 130012 tokens. Please reduce the length of the messages.");
    }

    /** 400 {@code content_filter} with {@code innererror.content_filter_result}: the prompt was filtered. */
    public static AzureBehaviour promptFiltered() {
        AzureBehaviour b = fail(400, "content_filter", "The response was filtered due to the prompt triggering Azure "
                + "OpenAI's content management policy. Please modify your prompt and retry. To learn more about our "
                + "content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766");
        b.innerErrorCode = "ResponsibleAIPolicyViolation";
        b.contentFilterResult = true;
        return b;
    }

    /** 500 InternalServerError. */
    public static AzureBehaviour serverError() {
        return fail(500, "InternalServerError", "The server had an error processing your request. Sorry about that! "
                + "You can retry your request, or contact us through an Azure support request.");
    }

    /** 503 ServiceUnavailable (capacity). */
    public static AzureBehaviour serviceUnavailable() {
        return fail(503, "ServiceUnavailable", "The service is temporarily unable to process your request. Please try "
                + "again later.");
    }

    /** Streams the text, then ends with {@code finish_reason: content_filter} and a filtered category. */
    public AzureBehaviour filteredAtEnd() {
        this.filterFinish = true;
        this.finishReason = "content_filter";
        return this;
    }

    /** Reports this many of the prompt tokens as read from the prompt cache. */
    public AzureBehaviour cachedTokens(int n) {
        this.cachedTokens = n;
        return this;
    }

    /** Streams {@code n} content chunks, then drops the connection. */
    public AzureBehaviour cutStreamAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /** Streams {@code n} content chunks, then a frame that is not JSON. */
    public AzureBehaviour malformedChunkAfter(int n) {
        this.malformedAfter = n;
        return this;
    }

    /** Streams {@code n} content chunks, then an {@code error} event with {@code code}. */
    public AzureBehaviour errorEventAfter(int n, String code) {
        this.errorEventAfter = n;
        this.errorEventCode = code;
        return this;
    }

    public AzureBehaviour firstTokenDelay(Duration d) {
        this.firstTokenDelay = d;
        return this;
    }

    public AzureBehaviour tokenDelay(Duration d) {
        this.tokenDelay = d;
        return this;
    }

    /**
     * Streams each tool call's arguments in pieces of at most {@code chars} characters, cut wherever that falls; by
     * default they go in two halves.
     */
    public AzureBehaviour argumentsInPiecesOf(int chars) {
        if (chars < 1) {
            throw new IllegalArgumentException("a piece holds at least one character: " + chars);
        }
        this.argumentPieceChars = chars;
        return this;
    }

    /** A tool-call answer that says {@code text} first (one word per chunk), then makes its calls. */
    public AzureBehaviour textBeforeCalls(String text) {
        if (kind != Kind.TOOL_CALLS) {
            throw new IllegalStateException("only a tool-call answer has text before its calls");
        }
        this.textBeforeCalls = text;
        return this;
    }

    /** The pieces {@code argumentsJson} is streamed in. */
    List<String> argumentPieces(String argumentsJson) {
        int n = argumentPieceChars;
        if (n <= 0) {
            int mid = argumentsJson.length() / 2;
            return List.of(argumentsJson.substring(0, mid), argumentsJson.substring(mid));
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < argumentsJson.length(); i += n) {
            out.add(argumentsJson.substring(i, Math.min(argumentsJson.length(), i + n)));
        }
        return out;
    }

    /** The text pieces of the answer (for a tool-call answer, its text before the calls). */
    List<String> pieces(String lastUserText) {
        String t = kind == Kind.ECHO ? "echo: " + lastUserText : kind == Kind.TOOL_CALLS ? textBeforeCalls : text;
        if (t == null || t.isEmpty()) {
            return List.of();
        }
        return new ArrayList<>(List.of(t.split("(?<=\\S)(?=\\s)")));
    }
}

package dev.parley.provider.gemini.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * One answer on its way: the Parley handler, exactly one terminal callback, the cancel hook of the upstream HTTP
 * exchange, and what the raw Gemini events said that langchain4j does not pass on (a blocked prompt, the exact
 * finish reason, cached tokens, an error event, a malformed event). Handler calls never overlap: they are made
 * under this object's lock.
 */
final class GeminiCall implements StreamHandle {

    /** Finish reasons the Gemini API documents for an answer its filters stopped. */
    static final Set<String> FILTERED = Set.of("SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
            "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ChatStreamHandler handler;
    private final String requestedModel;
    private final String apiKey;
    private final long maxAnswerBytes;
    private final Consumer<GeminiCall> onEnd;
    private boolean ended;
    private Runnable upstreamCanceller;
    private Future<?> timeout;
    private long answerBytes;
    private boolean sawFinish;
    private String finishReason;
    private String modelVersion;
    private int promptTokens;
    private int candidateTokens;
    private int cachedTokens;
    private int thoughtsTokens;
    private boolean sentText;

    GeminiCall(ChatStreamHandler handler, String requestedModel, String apiKey, long maxAnswerBytes,
            Consumer<GeminiCall> onEnd) {
        this.handler = handler;
        this.requestedModel = requestedModel;
        this.apiKey = apiKey;
        this.maxAnswerBytes = maxAnswerBytes;
        this.onEnd = onEnd;
    }

    // ---- the handle -------------------------------------------------------------------------------------------

    @Override
    public void cancel() {
        fail(new ParleyException(ErrorCode.CANCELLED, "the answer was cancelled"));
    }

    synchronized boolean ended() {
        return ended;
    }

    /** How the transport stops the HTTP exchange; run at once if the call has already ended. */
    void attach(Runnable canceller) {
        boolean runNow;
        synchronized (this) {
            upstreamCanceller = canceller;
            runNow = ended;
        }
        if (runNow) {
            canceller.run();
        }
    }

    synchronized void timeout(Future<?> timeout) {
        if (ended) {
            timeout.cancel(false);
        } else {
            this.timeout = timeout;
        }
    }

    // ---- outcomes ---------------------------------------------------------------------------------------------

    synchronized void token(String delta) {
        if (!ended && delta != null && !delta.isEmpty()) {
            sentText = true;
            handler.onToken(delta);
        }
    }

    synchronized void toolCall(ToolCallDelta piece) {
        if (!ended) {
            handler.onToolCallDelta(piece);
        }
    }

    /** The answer langchain4j assembled, with what the raw events told; may still end as content-filtered. */
    void complete(String text, List<ToolCall> toolCalls) {
        ParleyException filtered = null;
        ChatResponse response;
        synchronized (this) {
            if (ended) {
                return;
            }
            String reason = finishReason == null ? "STOP" : finishReason;
            boolean nothing = (text == null || text.isEmpty()) && toolCalls.isEmpty();
            if (FILTERED.contains(reason) && nothing) {
                filtered = new ParleyException(ErrorCode.CONTENT_FILTERED,
                        "Gemini stopped the answer (finishReason " + reason + ")");
                response = null;
            } else {
                FinishReason finish = switch (reason) {
                    case "STOP" -> toolCalls.isEmpty() ? FinishReason.STOP : FinishReason.TOOL_CALLS;
                    case "MAX_TOKENS" -> FinishReason.LENGTH;
                    default -> FILTERED.contains(reason) ? FinishReason.CONTENT_FILTER : FinishReason.OTHER;
                };
                response = new ChatResponse(text, toolCalls, finish,
                        // Thinking tokens are generated and billed as output: they count as completion tokens.
                        new Usage(promptTokens, candidateTokens + thoughtsTokens, cachedTokens),
                        modelVersion == null ? requestedModel : modelVersion);
                end();
                handler.onComplete(response);
                return;
            }
        }
        fail(filtered);
    }

    /** Ends the answer with {@code error}, unless it has ended; stops the upstream exchange. */
    void fail(ParleyException error) {
        Runnable canceller;
        synchronized (this) {
            if (ended) {
                return;
            }
            end();
            canceller = upstreamCanceller;
            handler.onError(error);
        }
        if (canceller != null) {
            canceller.run();
        }
    }

    private void end() {
        ended = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        onEnd.accept(this);
    }

    synchronized boolean sawFinish() {
        return sawFinish;
    }

    synchronized boolean sentText() {
        return sentText;
    }

    // ---- raw events -------------------------------------------------------------------------------------------

    /**
     * Reads one {@code GenerateContentResponse} (a stream event's data or a whole answer's body) before langchain4j
     * does. Returns false when it ended the call: not JSON, an error object, a blocked prompt, too large.
     */
    boolean inspect(String json) {
        boolean tooLarge;
        synchronized (this) {
            if (ended) {
                return false;
            }
            answerBytes += json.length();
            tooLarge = answerBytes > maxAnswerBytes;
        }
        if (tooLarge) {
            fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "Gemini's answer is larger than the configured " + maxAnswerBytes + " bytes"));
            return false;
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Gemini sent an answer that is not valid JSON"));
            return false;
        }
        if (root == null || !root.isObject()) {
            fail(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Gemini sent an answer that is not a JSON object"));
            return false;
        }
        if (root.path("error").isObject()) {
            // An error reported inside a 200 stream: the answer broke off upstream.
            fail(GeminiErrors.fromStatus(500, root.path("error"), apiKey));
            return false;
        }
        JsonNode feedback = root.path("promptFeedback");
        if (feedback.hasNonNull("blockReason")) {
            fail(new ParleyException(ErrorCode.CONTENT_FILTERED,
                    "Gemini refused the prompt (blockReason " + feedback.path("blockReason").asText() + ")"));
            return false;
        }
        synchronized (this) {
            JsonNode usage = root.path("usageMetadata");
            if (usage.isObject()) {
                promptTokens = usage.path("promptTokenCount").asInt(promptTokens);
                candidateTokens = usage.path("candidatesTokenCount").asInt(candidateTokens);
                cachedTokens = usage.path("cachedContentTokenCount").asInt(cachedTokens);
                thoughtsTokens = usage.path("thoughtsTokenCount").asInt(thoughtsTokens);
            }
            if (root.hasNonNull("modelVersion")) {
                modelVersion = root.path("modelVersion").asText();
            }
            JsonNode reason = root.path("candidates").path(0).path("finishReason");
            if (reason.isTextual() && !reason.asText().isEmpty()) {
                finishReason = reason.asText();
                sawFinish = true;
            }
        }
        return true;
    }
}

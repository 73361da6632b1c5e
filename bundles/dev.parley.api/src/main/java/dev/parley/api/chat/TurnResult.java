package dev.parley.api.chat;

import dev.parley.api.llm.FinishReason;
import java.time.Duration;

/**
 * The outcome of a finished turn.
 *
 * @param latency          from accepting the user message to the last token
 * @param timeToFirstToken from accepting the user message to the first token (equal to latency if none came)
 * @param route            who answered and what it cost (since 1.3); null when not known
 */
public record TurnResult(StoredMessage answer, FinishReason finishReason, Duration latency, Duration timeToFirstToken,
        AnswerRoute route) {

    /** A result without routing details. */
    public TurnResult(StoredMessage answer, FinishReason finishReason, Duration latency, Duration timeToFirstToken) {
        this(answer, finishReason, latency, timeToFirstToken, null);
    }
}

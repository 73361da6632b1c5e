package dev.parley.core.internal;

import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.stream.StreamLog;
import dev.parley.api.stream.StreamWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A streamed turn written to the stream log before its client sees it: each listener call becomes one log entry,
 * and the client's listener is called once that entry is in the log (in order). So a client never holds an event the
 * log lacks, and a client that reconnects with the last event it saw ({@code Chat.resume}) gets the rest exactly
 * once, from any node that reads the log.
 */
final class LoggedTurn implements TurnListener {
    private static final Logger LOG = LoggerFactory.getLogger(LoggedTurn.class);

    private final StreamLog log;
    private final TurnListener client;
    // Set by onAccepted, which comes first; the calls never overlap.
    private StreamWriter writer;

    LoggedTurn(StreamLog log, TurnListener client) {
        this.log = log;
        this.client = client;
    }

    @Override
    public void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
        writer = log.open(answerMessageId);
        writer.append(StreamEvents.ACCEPTED, StreamEvents.accepted(userMessage.id(), model),
                () -> deliver(() -> client.onAccepted(userMessage, answerMessageId, model)));
    }

    @Override
    public void onToken(String delta) {
        writer.append(StreamEvents.TOKEN, delta, () -> deliver(() -> client.onToken(delta)));
    }

    @Override
    public void onToolCallDelta(ToolCallDelta delta) {
        writer.append(StreamEvents.TOOL_CALL, StreamEvents.toolCall(delta),
                () -> deliver(() -> client.onToolCallDelta(delta)));
    }

    @Override
    public void onAnsweringModel(String providerId, String model) {
        writer.append(StreamEvents.ANSWERING, StreamEvents.answering(providerId, model),
                () -> deliver(() -> client.onAnsweringModel(providerId, model)));
    }

    @Override
    public void onComplete(TurnResult result) {
        writer.end(StreamEvents.DONE, StreamEvents.done(result.finishReason(), result.route()),
                () -> deliver(() -> client.onComplete(result)));
    }

    @Override
    public void onError(ParleyException error) {
        if (writer == null) {
            // Failed before it was accepted: nothing was logged, nothing to resume.
            client.onError(error);
            return;
        }
        writer.end(StreamEvents.ERROR, StreamEvents.error(error), () -> deliver(() -> client.onError(error)));
    }

    /** The client's listener runs on the log's thread: a failure there is the client's (e.g. gone), not the turn's. */
    private static void deliver(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.debug("stream client listener failed", e);
        }
    }
}

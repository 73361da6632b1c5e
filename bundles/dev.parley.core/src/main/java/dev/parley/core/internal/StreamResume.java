package dev.parley.core.internal;

import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.stream.StreamEntry;
import dev.parley.api.stream.StreamFollower;
import dev.parley.api.stream.StreamLog;
import dev.parley.api.store.ConversationStore;
import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One resumed stream ({@code Chat.resume}): the log's entries after the client's last event, turned back into the
 * listener calls they were written from ({@link LoggedTurn}), then the end. A stream whose producing node is gone
 * is ended here: the answer's text is gathered from the log and stored as interrupted (only if the answer is still
 * streaming: whoever ends it first wins), and the listener gets {@code onInterrupted} with it.
 */
final class StreamResume implements StreamFollower {
    private static final Logger LOG = LoggerFactory.getLogger(StreamResume.class);
    static final String PRODUCER_GONE = "the node streaming this answer stopped before it finished";

    private final StreamLog log;
    private final ConversationStore store;
    private final String answerId;
    private final Supplier<StoredMessage> userMessage;
    /** The answer as stored now (read again at the end). */
    private final Supplier<StoredMessage> storedAnswer;
    private final TurnListener listener;
    /** A done or error entry reached the listener; calls never overlap. */
    private boolean ended;

    StreamResume(StreamLog log, ConversationStore store, String answerId, Supplier<StoredMessage> userMessage,
            Supplier<StoredMessage> storedAnswer, TurnListener listener) {
        this.log = log;
        this.store = store;
        this.answerId = answerId;
        this.userMessage = userMessage;
        this.storedAnswer = storedAnswer;
        this.listener = listener;
    }

    @Override
    public void onEntry(StreamEntry entry) {
        String data = entry.data();
        switch (entry.type()) {
            case StreamEvents.ACCEPTED -> listener.onAccepted(userMessage.get(), answerId,
                    StreamEvents.field(data, "model"));
            case StreamEvents.ANSWERING -> listener.onAnsweringModel(StreamEvents.field(data, "provider"),
                    StreamEvents.field(data, "model"));
            case StreamEvents.TOKEN -> listener.onToken(data);
            case StreamEvents.TOOL_CALL -> listener.onToolCallDelta(StreamEvents.toolCall(data));
            case StreamEvents.DONE -> {
                ended = true;
                listener.onComplete(result(storedAnswer.get(), StreamEvents.finish(data), data));
            }
            case StreamEvents.ERROR -> {
                ended = true;
                listener.onError(StreamEvents.error(data));
            }
            default -> LOG.warn("stream log entry of an unknown type skipped answer={} seq={} type={}", answerId,
                    entry.seq(), entry.type());
        }
    }

    @Override
    public void onEnd() {
        if (!ended) {
            // The client had the last entry already (it resumed after the end): it gets the end again, as stored.
            endAsStored(storedAnswer.get());
        }
    }

    @Override
    public void onProducerGone(String reason) {
        log.entries(answerId).whenComplete((entries, failure) -> {
            if (failure != null) {
                onFailure(failure.toString());
                return;
            }
            StringBuilder text = new StringBuilder();
            for (StreamEntry e : entries) {
                if (StreamEvents.TOKEN.equals(e.type())) {
                    text.append(e.data());
                }
            }
            try {
                StoredMessage stored = store.interruptIfStreaming(answerId, text.toString(), PRODUCER_GONE);
                LOG.info("resumed stream ended without its producer answer={} reason={} chars={} status={}", answerId,
                        reason, text.length(), stored.status());
                endAsStored(stored);
            } catch (RuntimeException e) {
                LOG.warn("could not store the interrupted answer answer={}", answerId, e);
                listener.onError(e instanceof ParleyException pe ? pe
                        : new ParleyException(ErrorCode.STORE_FAILURE, "could not store the interrupted answer", e));
            }
        });
    }

    @Override
    public void onNotFound() {
        StoredMessage stored = storedAnswer.get();
        if (stored.status() == MessageStatus.STREAMING) {
            // Not streamed (a whole answer), or its log expired while it runs: nothing to resume, nothing to end.
            listener.onError(new ParleyException(ErrorCode.NOT_FOUND,
                    "Answer " + answerId + " has no stream to resume."));
            return;
        }
        endAsStored(stored);
    }

    @Override
    public void onFailure(String message) {
        listener.onError(new ParleyException(ErrorCode.UNAVAILABLE, "The stream log cannot be read: " + message));
    }

    /** The end a client gets from the stored answer alone: its whole text when complete, else the interruption. */
    private void endAsStored(StoredMessage stored) {
        if (stored.status() == MessageStatus.COMPLETE) {
            listener.onComplete(result(stored, null, null));
        } else {
            listener.onInterrupted(stored, new ParleyException(ErrorCode.UNAVAILABLE,
                    stored.error() == null ? PRODUCER_GONE : stored.error()));
        }
    }

    private static TurnResult result(StoredMessage answer, FinishReason finish, String doneData) {
        return new TurnResult(answer, finish, millis(answer.latencyMs()), millis(answer.timeToFirstTokenMs()),
                doneData == null ? null : StreamEvents.route(doneData));
    }

    private static Duration millis(Long ms) {
        return ms == null ? null : Duration.ofMillis(ms);
    }
}

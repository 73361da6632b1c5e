package dev.parley.core.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ParleyException;

/** Records every callback of a turn in order; can play a client that goes away. */
final class RecordingListener implements TurnListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<String> tokens = new CopyOnWriteArrayList<>();
    final List<TurnResult> completed = new CopyOnWriteArrayList<>();
    final List<ParleyException> errors = new CopyOnWriteArrayList<>();
    volatile StoredMessage acceptedUser;
    volatile String answerId;
    volatile String model;
    /** The thread that delivered the terminal callback. */
    volatile String endedOn;
    private volatile boolean failOnToken;
    private volatile boolean failOnAccept;

    RecordingListener failOnToken() {
        this.failOnToken = true;
        return this;
    }

    RecordingListener failOnAccept() {
        this.failOnAccept = true;
        return this;
    }

    @Override
    public void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
        events.add("accepted");
        this.acceptedUser = userMessage;
        this.answerId = answerMessageId;
        this.model = model;
        if (failOnAccept) {
            throw new IllegalStateException("socket closed");
        }
    }

    @Override
    public void onToken(String delta) {
        events.add("token");
        tokens.add(delta);
        if (failOnToken) {
            throw new IllegalStateException("socket closed");
        }
    }

    @Override
    public void onComplete(TurnResult result) {
        endedOn = Thread.currentThread().getName();
        events.add("complete");
        completed.add(result);
    }

    @Override
    public void onError(ParleyException error) {
        events.add("error");
        errors.add(error);
    }

    int terminalCount() {
        return completed.size() + errors.size();
    }

    String text() {
        return String.join("", tokens);
    }
}

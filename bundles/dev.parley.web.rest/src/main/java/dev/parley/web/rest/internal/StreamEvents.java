package dev.parley.web.rest.internal;

import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Carries one turn's events from the provider's thread to the request thread, which does all the writing:
 * the listener callbacks only enqueue, so a slow client never blocks a provider's I/O thread.
 */
final class StreamEvents implements TurnListener, ChatStreamHandler {

    sealed interface Event permits Accepted, Token, TurnDone, CompletionDone, Failed {
    }

    record Accepted(StoredMessage userMessage, String answerId, String model) implements Event {
    }

    record Token(String delta) implements Event {
    }

    record TurnDone(TurnResult result) implements Event {
    }

    record CompletionDone(ChatResponse response) implements Event {
    }

    record Failed(ParleyException error) implements Event {
    }

    private final BlockingQueue<Event> queue = new LinkedBlockingQueue<>();

    @Override
    public void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
        queue.add(new Accepted(userMessage, answerMessageId, model));
    }

    @Override
    public void onToken(String delta) {
        queue.add(new Token(delta));
    }

    @Override
    public void onComplete(TurnResult result) {
        queue.add(new TurnDone(result));
    }

    @Override
    public void onComplete(ChatResponse response) {
        queue.add(new CompletionDone(response));
    }

    @Override
    public void onError(ParleyException error) {
        queue.add(new Failed(error));
    }

    /** The next event, or null when none came within {@code timeout}. */
    Event next(Duration timeout) throws InterruptedException {
        long nanos = Math.max(0, timeout.toNanos());
        return queue.poll(nanos, TimeUnit.NANOSECONDS);
    }

    static boolean isTerminal(Event event) {
        return event instanceof TurnDone || event instanceof CompletionDone || event instanceof Failed;
    }
}

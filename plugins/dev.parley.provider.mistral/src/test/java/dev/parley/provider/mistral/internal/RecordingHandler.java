package dev.parley.provider.mistral.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ToolCallDelta;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Records one answer's callbacks and counts terminal ones, so a test can see "exactly one". */
final class RecordingHandler implements ChatStreamHandler {

    final List<String> tokens = new CopyOnWriteArrayList<>();
    final List<ToolCallDelta> toolCallDeltas = new CopyOnWriteArrayList<>();
    /** "text" for each token, "call" for each tool-call piece, in the order they came. */
    final List<String> kinds = new CopyOnWriteArrayList<>();
    /** Tokens and tool-call pieces that came after the terminal call. */
    final AtomicInteger afterEnd = new AtomicInteger();
    final CountDownLatch firstToken = new CountDownLatch(1);
    final CountDownLatch done = new CountDownLatch(1);
    final AtomicInteger terminals = new AtomicInteger();
    volatile ChatResponse response;
    volatile ParleyException error;

    @Override
    public void onToken(String delta) {
        if (done.getCount() == 0) {
            afterEnd.incrementAndGet();
        }
        kinds.add("text");
        tokens.add(delta);
        firstToken.countDown();
    }

    @Override
    public void onToolCallDelta(ToolCallDelta delta) {
        if (done.getCount() == 0) {
            afterEnd.incrementAndGet();
        }
        toolCallDeltas.add(delta);
        kinds.add("call");
    }

    /** The arguments pieces of call {@code index}, joined. */
    String joinedArguments(int index) {
        StringBuilder sb = new StringBuilder();
        toolCallDeltas.stream().filter(d -> d.index() == index).forEach(d -> sb.append(d.argumentsDelta()));
        return sb.toString();
    }

    @Override
    public void onComplete(ChatResponse r) {
        response = r;
        terminals.incrementAndGet();
        done.countDown();
    }

    @Override
    public void onError(ParleyException e) {
        error = e;
        terminals.incrementAndGet();
        done.countDown();
    }

    RecordingHandler await() {
        return await(Duration.ofSeconds(20));
    }

    RecordingHandler await(Duration d) {
        try {
            if (!done.await(d.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the answer did not end within " + d);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return this;
    }

    String text() {
        return String.join("", tokens);
    }
}

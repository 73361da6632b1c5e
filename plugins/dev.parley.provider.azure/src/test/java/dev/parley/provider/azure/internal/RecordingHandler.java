package dev.parley.provider.azure.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ToolCallDelta;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Records what a provider hands its handler; counts terminal calls so "exactly once" can be checked. */
final class RecordingHandler implements ChatStreamHandler {
    final List<String> tokens = new CopyOnWriteArrayList<>();
    final List<ToolCallDelta> toolCallDeltas = new CopyOnWriteArrayList<>();
    /** "text" for each token, "call" for each tool-call piece, in the order they came. */
    final List<String> kinds = new CopyOnWriteArrayList<>();
    /** Tokens and tool-call pieces that came after the terminal call. */
    final AtomicInteger afterEnd = new AtomicInteger();
    final CountDownLatch firstToken = new CountDownLatch(1);
    final CountDownLatch ended = new CountDownLatch(1);
    final AtomicInteger terminals = new AtomicInteger();
    volatile ChatResponse response;
    volatile ParleyException error;

    @Override
    public void onToken(String delta) {
        if (ended.getCount() == 0) {
            afterEnd.incrementAndGet();
        }
        kinds.add("text");
        tokens.add(delta);
        firstToken.countDown();
    }

    @Override
    public void onToolCallDelta(ToolCallDelta delta) {
        if (ended.getCount() == 0) {
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
        ended.countDown();
    }

    @Override
    public void onError(ParleyException e) {
        error = e;
        terminals.incrementAndGet();
        ended.countDown();
    }

    RecordingHandler await() throws InterruptedException {
        // Generous: the first call in a JVM loads the SDK, Kotlin and Jackson, on a machine that may be busy.
        if (!ended.await(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the answer did not end within 60 s");
        }
        return this;
    }
}

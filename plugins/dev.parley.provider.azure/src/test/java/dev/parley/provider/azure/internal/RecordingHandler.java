package dev.parley.provider.azure.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Records what a provider hands its handler; counts terminal calls so "exactly once" can be checked. */
final class RecordingHandler implements ChatStreamHandler {
    final List<String> tokens = new CopyOnWriteArrayList<>();
    final CountDownLatch firstToken = new CountDownLatch(1);
    final CountDownLatch ended = new CountDownLatch(1);
    final AtomicInteger terminals = new AtomicInteger();
    volatile ChatResponse response;
    volatile ParleyException error;

    @Override
    public void onToken(String delta) {
        tokens.add(delta);
        firstToken.countDown();
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

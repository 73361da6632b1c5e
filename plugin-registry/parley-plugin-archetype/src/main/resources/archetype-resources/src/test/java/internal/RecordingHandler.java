package ${package}.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Records what a stream delivers and checks the handler contract: no overlapping calls, one terminal call. */
final class RecordingHandler implements ChatStreamHandler {
    final List<String> tokens = new CopyOnWriteArrayList<>();
    final AtomicInteger terminalCalls = new AtomicInteger();
    final AtomicInteger overlaps = new AtomicInteger();
    final AtomicInteger tokensAfterEnd = new AtomicInteger();
    final CountDownLatch ended = new CountDownLatch(1);
    final CountDownLatch firstToken = new CountDownLatch(1);
    private final AtomicInteger inside = new AtomicInteger();
    volatile ChatResponse response;
    volatile ParleyException error;

    @Override
    public void onToken(String delta) {
        enter();
        if (terminalCalls.get() > 0) {
            tokensAfterEnd.incrementAndGet();
        }
        tokens.add(delta);
        firstToken.countDown();
        leave();
    }

    @Override
    public void onComplete(ChatResponse r) {
        enter();
        response = r;
        terminalCalls.incrementAndGet();
        ended.countDown();
        leave();
    }

    @Override
    public void onError(ParleyException e) {
        enter();
        error = e;
        terminalCalls.incrementAndGet();
        ended.countDown();
        leave();
    }

    boolean awaitEnd() throws InterruptedException {
        return ended.await(10, TimeUnit.SECONDS);
    }

    private void enter() {
        if (inside.incrementAndGet() > 1) {
            overlaps.incrementAndGet();
        }
    }

    private void leave() {
        inside.decrementAndGet();
    }
}

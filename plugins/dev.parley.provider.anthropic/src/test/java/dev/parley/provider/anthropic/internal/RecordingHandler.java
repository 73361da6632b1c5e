package dev.parley.provider.anthropic.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ToolCallDelta;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Records one answer; checks the handler contract (one terminal call). */
class RecordingHandler implements ChatStreamHandler {
    final List<String> tokens = new CopyOnWriteArrayList<>();
    final List<ToolCallDelta> toolCallDeltas = new CopyOnWriteArrayList<>();
    /** "text" for each token, "call" for each tool-call piece, in the order they came. */
    final List<String> kinds = new CopyOnWriteArrayList<>();
    /** Tokens and tool-call pieces that came after the terminal call. */
    final AtomicInteger afterEnd = new AtomicInteger();
    final CountDownLatch firstToken = new CountDownLatch(1);
    final CountDownLatch ended = new CountDownLatch(1);
    final AtomicInteger terminalCalls = new AtomicInteger();
    volatile ChatResponse response;
    volatile ParleyException error;

    @Override
    public void onToken(String delta) {
        if (ended.getCount() == 0) {
            afterEnd.incrementAndGet();
        }
        kinds.add("text");
        assertThat(ended.getCount()).as("a token after the end").isEqualTo(1);
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
        terminalCalls.incrementAndGet();
        ended.countDown();
    }

    @Override
    public void onError(ParleyException e) {
        error = e;
        terminalCalls.incrementAndGet();
        ended.countDown();
    }

    RecordingHandler await() throws InterruptedException {
        assertThat(ended.await(20, TimeUnit.SECONDS)).as("the answer ended").isTrue();
        return this;
    }

    ChatResponse completed() throws InterruptedException {
        await();
        assertThat(error).as("error").isNull();
        return response;
    }

    ParleyException failed() throws InterruptedException {
        await();
        assertThat(response).as("a response where an error was expected").isNull();
        assertThat(error).isNotNull();
        return error;
    }
}

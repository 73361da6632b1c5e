package dev.parley.provider.ollama.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ToolCallDelta;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Records what a provider reports and checks the handler contract: one terminal call, nothing after it. */
final class RecordingHandler implements ChatStreamHandler {
    final List<String> tokens = new CopyOnWriteArrayList<>();
    final List<ToolCallDelta> toolCallDeltas = new CopyOnWriteArrayList<>();
    /** "text" for each token, "call" for each tool-call piece, in the order they came. */
    final List<String> kinds = new CopyOnWriteArrayList<>();
    final CountDownLatch firstToken = new CountDownLatch(1);
    final CountDownLatch ended = new CountDownLatch(1);
    final AtomicInteger terminals = new AtomicInteger();
    final AtomicInteger afterEnd = new AtomicInteger();
    volatile ChatResponse response;
    volatile ParleyException error;

    @Override
    public void onToken(String delta) {
        kinds.add("text");
        if (ended.getCount() == 0) {
            afterEnd.incrementAndGet();
        }
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

    ChatResponse awaitResponse() throws InterruptedException {
        assertThat(ended.await(15, TimeUnit.SECONDS)).as("the answer ended").isTrue();
        assertThat(error).as("no error").isNull();
        return response;
    }

    ParleyException awaitError(ErrorCode code) throws InterruptedException {
        assertThat(ended.await(15, TimeUnit.SECONDS)).as("the answer ended").isTrue();
        assertThat(response).as("no answer").isNull();
        assertThat(error).isNotNull();
        assertThat(error.code()).as("error code of '%s'", error.getMessage()).isEqualTo(code);
        return error;
    }

    String text() {
        return String.join("", tokens);
    }
}

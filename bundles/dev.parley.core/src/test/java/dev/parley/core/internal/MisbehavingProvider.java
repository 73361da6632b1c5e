package dev.parley.core.internal;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;

/**
 * A provider whose calls misbehave as a test sets: a model list that blocks (from the start, or after its first
 * answer) or throws, an id that blocks, a {@code stream()} that blocks, spins, throws or throws a ParleyException
 * instead of reporting it. Otherwise it answers "ok from {id}" at once, on the calling thread.
 */
final class MisbehavingProvider implements ChatModelProvider, AutoCloseable {
    enum Models { ANSWER, BLOCK, BLOCK_AFTER_FIRST, THROW }

    enum Stream { ANSWER, BLOCK, SPIN, THROW, THROW_PARLEY }

    private final String id;
    private final List<ModelDescriptor> models;
    volatile Models modelsMode = Models.ANSWER;
    volatile Stream streamMode = Stream.ANSWER;
    volatile boolean blockId;
    volatile ParleyException thrown;
    /** Released by {@link #close()}: what blocked calls wait for. */
    final CountDownLatch release = new CountDownLatch(1);
    private final AtomicBoolean stopSpinning = new AtomicBoolean();
    /** True while a {@code stream()} call spins. */
    final AtomicBoolean inSpin = new AtomicBoolean();
    final AtomicInteger modelsCalls = new AtomicInteger();
    final AtomicInteger streamCalls = new AtomicInteger();
    /** Calls into this provider that ended by an interrupt. */
    final AtomicInteger interrupted = new AtomicInteger();
    /** Handles returned after a blocked stream() came back, and whether they were cancelled. */
    final AtomicInteger cancelled = new AtomicInteger();
    /** Threads that ran stream(). */
    final List<String> streamThreads = new java.util.concurrent.CopyOnWriteArrayList<>();

    MisbehavingProvider(String id, String... modelIds) {
        this.id = id;
        this.models = java.util.Arrays.stream(modelIds).map(m -> new ModelDescriptor(m, id, null, 8000, 1000)).toList();
    }

    MisbehavingProvider models(Models mode) {
        this.modelsMode = mode;
        return this;
    }

    MisbehavingProvider stream(Stream mode) {
        this.streamMode = mode;
        return this;
    }

    @Override
    public String id() {
        if (blockId) {
            await();
        }
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        int n = modelsCalls.incrementAndGet();
        switch (modelsMode) {
            case BLOCK -> await();
            case BLOCK_AFTER_FIRST -> {
                if (n > 1) {
                    await();
                }
            }
            case THROW -> throw new IllegalStateException("models exploded");
            default -> { }
        }
        return models;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        streamCalls.incrementAndGet();
        streamThreads.add(Thread.currentThread().getName());
        switch (streamMode) {
            case BLOCK -> await();
            case SPIN -> {
                // Ignores interrupts, as a busy loop does.
                inSpin.set(true);
                while (!stopSpinning.get()) {
                    Thread.onSpinWait();
                }
                inSpin.set(false);
            }
            case THROW -> throw new IllegalStateException("bug in plugin");
            case THROW_PARLEY -> throw thrown;
            default -> { }
        }
        handler.onToken("ok from " + id);
        handler.onComplete(new ChatResponse("ok from " + id, List.of(), FinishReason.STOP, new Usage(3, 3),
                request.model()));
        return cancelled::incrementAndGet;
    }

    private void await() {
        try {
            release.await();
        } catch (InterruptedException e) {
            interrupted.incrementAndGet();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() {
        stopSpinning.set(true);
        release.countDown();
    }
}

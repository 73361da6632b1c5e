package dev.parley.itests.guard;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A provider plugin that misbehaves as its component property {@code mode} says, packed into a plugin jar by
 * {@link GuardPluginJars}: {@code block-models} (its model list never answers), {@code throw-stream} (every answer
 * throws from {@code stream()}), {@code spin-stream} (an endless busy loop on the calling thread that ignores
 * interrupts), {@code deadlock-stream} (two answers at once take two locks in opposite orders and wait for each other),
 * {@code oom-stream} (each answer allocates one array larger than the whole heap), {@code flood-stream} (each answer
 * streams 64 MiB of text in 64 KiB tokens), {@code slow-stream} (every answer waits in {@code stream()} until the
 * component is deactivated or the thread interrupted; {@link #inside()} counts those waiting) or {@code ok} (answers "guard: " and the last user message). Blocked calls
 * wait until the component is deactivated or the calling thread is interrupted; the busy loop ends only when the
 * component is deactivated (so a test's plugin does not spin on in the test framework once it is stopped).
 */
public class GuardTestProvider implements ChatModelProvider {
    private volatile String id = "guard-test";
    private volatile List<ModelDescriptor> models = List.of();
    private volatile String mode = "ok";
    private final CountDownLatch deactivated = new CountDownLatch(1);
    private volatile boolean stopped;
    private final ReentrantLock first = new ReentrantLock();
    private final ReentrantLock second = new ReentrantLock();
    private final CountDownLatch bothLocked = new CountDownLatch(2);
    private final AtomicInteger deadlockCalls = new AtomicInteger();
    private final AtomicInteger inside = new AtomicInteger();

    public void activate(Map<String, Object> properties) {
        id = String.valueOf(properties.getOrDefault("providerId", id));
        mode = String.valueOf(properties.getOrDefault("mode", mode));
        String names = String.valueOf(properties.getOrDefault("models", ""));
        models = Arrays.stream(names.split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .map(m -> new ModelDescriptor(m, id, "guard test " + m, 8192, 1024)).toList();
    }

    /** How many calls are waiting in {@code stream()} now ({@code slow-stream}). */
    public int inside() {
        return inside.get();
    }

    public void deactivate() {
        stopped = true;
        deactivated.countDown();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        if ("block-models".equals(mode)) {
            try {
                deactivated.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return models;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        if ("throw-stream".equals(mode)) {
            throw new IllegalStateException("bug in the guard test plugin");
        }
        if ("spin-stream".equals(mode)) {
            long spins = 0;
            while (!stopped) {
                spins++;
            }
            throw new IllegalStateException("stopped after " + spins + " spins");
        }
        if ("slow-stream".equals(mode)) {
            inside.incrementAndGet();
            try {
                deactivated.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inside.decrementAndGet();
            }
            throw new IllegalStateException("the slow answer was let go");
        }
        if ("deadlock-stream".equals(mode)) {
            deadlock();
        }
        if ("oom-stream".equals(mode)) {
            long heapLongs = Runtime.getRuntime().maxMemory() / Long.BYTES + 1;
            long[] bomb = new long[(int) Math.min(Integer.MAX_VALUE, heapLongs)];
            throw new IllegalStateException("allocated " + bomb.length + " longs");
        }
        if ("flood-stream".equals(mode)) {
            String chunk = "x".repeat(64 * 1024);
            for (int i = 0; i < 1024; i++) {
                handler.onToken(chunk);
            }
            handler.onComplete(new ChatResponse("", List.of(), FinishReason.STOP, new Usage(4, 4), request.model()));
            return () -> { };
        }
        String last = "";
        for (ChatMessage m : request.messages()) {
            if (m.role() == Role.USER) {
                last = m.content();
            }
        }
        String answer = "guard: " + last;
        handler.onToken(answer);
        handler.onComplete(new ChatResponse(answer, List.of(), FinishReason.STOP, new Usage(4, 4), request.model()));
        return () -> { };
    }

    /** Odd calls take the first lock, even ones the second; once two hold one each, each waits for the other's. */
    private void deadlock() {
        boolean odd = deadlockCalls.incrementAndGet() % 2 == 1;
        ReentrantLock mine = odd ? first : second;
        ReentrantLock theirs = odd ? second : first;
        try {
            mine.lockInterruptibly();
            try {
                bothLocked.countDown();
                bothLocked.await();
                theirs.lockInterruptibly();
                theirs.unlock();
            } finally {
                mine.unlock();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("the deadlock was broken by an interrupt");
    }
}

package dev.parley.itests.oop;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A provider plugin for the out-of-process tests, run only inside a plugin host (its jar is made by
 * {@link HostedPluginJars}). Mode {@code slow}: streams {@code t0 t1 …} (up to {@code maxTokens}, else 1,000), one
 * every 20 ms, until done or cancelled. Mode {@code exit}: {@code stream} calls {@code System.exit(7)}. Mode {@code bomb}: the first {@code stream} keeps allocating until the JVM
 * runs out of memory. Mode {@code threads}: as {@code slow}, but a request whose last message is {@code bomb} starts
 * up to 5,000 threads that wait, through a cached thread pool (its workers are the JDK's threads, which the run-time
 * checks do not count), answers how many it got and why it stopped, and lets them end.
 */
public final class HostedTestProvider implements ChatModelProvider {
    private String providerId;
    private String model;
    private String mode;
    private ScheduledExecutorService timer;

    public void activate(Map<String, Object> properties) {
        providerId = (String) properties.get("providerId");
        model = (String) properties.get("models");
        mode = (String) properties.get("mode");
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hosted-test-provider");
            t.setDaemon(true);
            return t;
        });
    }

    public void deactivate() {
        timer.shutdownNow();
    }

    @Override
    public String id() {
        return providerId;
    }

    @Override
    public List<ModelDescriptor> models() {
        return List.of(new ModelDescriptor(model, providerId, "Hosted test (" + mode + ")", 8192, 4096));
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        if ("exit".equals(mode)) {
            System.exit(7);
        }
        if ("bomb".equals(mode)) {
            List<long[]> hoard = new ArrayList<>();
            while (true) {
                hoard.add(new long[1 << 20]);
            }
        }
        if ("threads".equals(mode) && !request.messages().isEmpty()
                && "bomb".equals(request.messages().get(request.messages().size() - 1).content())) {
            return threadBomb(handler);
        }
        int total = request.options().maxTokens() == null ? 1000 : request.options().maxTokens();
        AtomicInteger sent = new AtomicInteger();
        AtomicBoolean ended = new AtomicBoolean();
        StringBuilder text = new StringBuilder();
        ScheduledFuture<?>[] task = new ScheduledFuture<?>[1];
        task[0] = timer.scheduleAtFixedRate(() -> {
            if (ended.get()) {
                return;
            }
            int i = sent.getAndIncrement();
            if (i < total) {
                String token = "t" + i + " ";
                text.append(token);
                handler.onToken(token);
            } else if (ended.compareAndSet(false, true)) {
                task[0].cancel(false);
                handler.onComplete(new ChatResponse(text.toString(), List.of(), FinishReason.STOP,
                        new Usage(3, total), model));
            }
        }, 0, 20, TimeUnit.MILLISECONDS);
        return () -> {
            if (ended.compareAndSet(false, true)) {
                task[0].cancel(false);
                handler.onError(new ParleyException(ErrorCode.CANCELLED, "cancelled by the caller"));
            }
        };
    }

    private StreamHandle threadBomb(ChatStreamHandler handler) {
        java.util.concurrent.ExecutorService pool = Executors.newCachedThreadPool();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        int started = 0;
        String stoppedBy = "none";
        try {
            for (; started < 5000; started++) {
                pool.execute(() -> {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
        } catch (Throwable t) {
            stoppedBy = t.toString();
        } finally {
            release.countDown();
            pool.shutdown();
        }
        String text = "threads started=" + started + " stopped by " + stoppedBy;
        handler.onComplete(new ChatResponse(text, List.of(), FinishReason.STOP, new Usage(1, 1), model));
        return () -> {
        };
    }
}

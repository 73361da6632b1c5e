package dev.parley.itests.hostile;

import static org.awaitility.Awaitility.await;

import dev.parley.itests.Server;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A steady chat load on one well-behaved model: a few clients sending OpenAI-style chat completions back to back
 * until stopped, each answer checked ({@code echo: <question>}, what the local OpenAI wire-protocol server answers).
 * Counts what was attempted and what succeeded; keeps every failure with its reason.
 */
final class ChatLoad implements AutoCloseable {
    private final Server server;
    private final String model;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger attempted = new AtomicInteger();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final AtomicLong slowestNanos = new AtomicLong();
    private final ExecutorService clients;
    private final CountDownLatch stopped;

    ChatLoad(Server server, String model, int clients) {
        this.server = server;
        this.model = model;
        this.clients = Executors.newFixedThreadPool(clients);
        this.stopped = new CountDownLatch(clients);
        for (int i = 0; i < clients; i++) {
            int client = i;
            this.clients.execute(() -> {
                try {
                    for (int n = 0; running.get(); n++) {
                        chat("load client " + client + " question " + n);
                    }
                } finally {
                    stopped.countDown();
                }
            });
        }
    }

    private void chat(String question) {
        attempted.incrementAndGet();
        long start = System.nanoTime();
        try {
            var r = server.post("v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"" + question + "\"}]}");
            if (r.status() == 200 && ("echo: " + question).equals(r.json().at("/choices/0/message/content").asText())) {
                succeeded.incrementAndGet();
            } else {
                failures.add(question + ": " + r.status() + " " + r.body());
            }
        } catch (RuntimeException e) {
            failures.add(question + ": " + e);
        } finally {
            slowestNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
        }
    }

    /** Waits until {@code more} chats beyond those attempted so far have ended (or one failed). */
    void awaitMore(int more) {
        int target = attempted.get() + more;
        await().atMost(Duration.ofSeconds(120)).until(() -> !failures.isEmpty()
                || succeeded.get() + failures.size() >= target);
    }

    /** Stops the clients, waits for the chats in flight to end, and returns the figures. */
    Figures stop() throws InterruptedException {
        running.set(false);
        if (!stopped.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the load's clients did not stop");
        }
        return new Figures(attempted.get(), succeeded.get(), slowestNanos.get() / 1_000_000, List.copyOf(failures));
    }

    @Override
    public void close() {
        running.set(false);
        clients.shutdownNow();
    }

    /** What the load saw: chats attempted and succeeded, the slowest chat, and why each other one failed. */
    record Figures(int attempted, int succeeded, long slowestMillis, List<String> failures) {
        double successPercent() {
            return attempted == 0 ? 0 : 100.0 * succeeded / attempted;
        }
    }
}

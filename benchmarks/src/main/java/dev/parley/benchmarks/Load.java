package dev.parley.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * Closed-loop load: {@code clients} threads each send one request, wait for the whole answer, and send the next,
 * until {@code maxRequests} have been started or {@code maxDuration} has passed, whichever comes first.
 */
final class Load {

    /** A content delta that is not empty: the fake's first chunk carries {@code "content":""}, which is no token. */
    private static final Pattern CONTENT = Pattern.compile("\"content\"\\s*:\\s*\"[^\"]");
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    record Result(int clients, int ok, int errors, double wallSeconds, double throughput, Stats latency, Stats ttft,
            String firstError) {
    }

    private final HttpClient client;
    private final int expectedWords;

    Load(HttpClient client, int expectedWords) {
        this.client = client;
        this.expectedWords = expectedWords;
    }

    static String body(boolean stream) {
        return "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me something.\"}]"
                + (stream ? ",\"stream\":true" : "") + "}";
    }

    Result run(URI uri, boolean stream, int clients, int maxRequests, Duration maxDuration) throws InterruptedException {
        if (!"127.0.0.1".equals(uri.getHost())) {
            throw new IllegalArgumentException("load is only ever sent to 127.0.0.1, not " + uri);
        }
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + Benchmark.CREDENTIAL)
                .header("Accept", stream ? "text/event-stream" : "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(stream)))
                .build();
        AtomicInteger tickets = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        long start = System.nanoTime();
        long deadline = start + maxDuration.toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(clients, r -> {
            Thread t = new Thread(r, "load-client");
            t.setDaemon(true);
            return t;
        });
        List<Future<long[][]>> workers = new ArrayList<>();
        try {
            for (int c = 0; c < clients; c++) {
                workers.add(pool.submit(() -> {
                    LongList latencies = new LongList();
                    LongList ttfts = new LongList();
                    while (tickets.getAndIncrement() < maxRequests && System.nanoTime() < deadline) {
                        try {
                            if (stream) {
                                streamOnce(request, latencies, ttfts);
                            } else {
                                completeOnce(request, latencies);
                            }
                        } catch (Exception e) {
                            errors.incrementAndGet();
                            firstError.compareAndSet(null, e.toString());
                        }
                    }
                    return new long[][] {latencies.toArray(), ttfts.toArray()};
                }));
            }
            LongList all = new LongList();
            LongList allTtft = new LongList();
            for (Future<long[][]> f : workers) {
                long[][] r = f.get(maxDuration.toSeconds() + REQUEST_TIMEOUT.toSeconds() + 30, TimeUnit.SECONDS);
                all.addAll(r[0]);
                allTtft.addAll(r[1]);
            }
            double wall = (System.nanoTime() - start) / 1e9;
            long[] lat = all.toArray();
            return new Result(clients, lat.length, errors.get(), wall, lat.length / wall, Stats.of(lat),
                    stream ? Stats.of(allTtft.toArray()) : null, firstError.get());
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("load worker failed", e);
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    private void completeOnce(HttpRequest request, LongList latencies) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        long t1 = System.nanoTime();
        if (response.statusCode() != 200) {
            throw new IOException("status " + response.statusCode() + ": " + abbreviate(response.body()));
        }
        if (!response.body().contains("word" + expectedWords)) {
            throw new IOException("answer incomplete: " + abbreviate(response.body()));
        }
        latencies.add(t1 - t0);
    }

    private void streamOnce(HttpRequest request, LongList latencies, LongList ttfts)
            throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = response.body();
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            if (response.statusCode() != 200) {
                throw new IOException("status " + response.statusCode() + ": " + abbreviate(reader.readLine()));
            }
            long firstToken = -1;
            int contentChunks = 0;
            boolean sawLastWord = false;
            String lastWord = "word" + expectedWords + "\"";
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.startsWith("data:")) {
                    continue;
                }
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) {
                    long t1 = System.nanoTime();
                    // Chunk boundaries are the proxy's business; that the last word arrived is what counts.
                    if (firstToken < 0 || !sawLastWord) {
                        throw new IOException("stream ended after " + contentChunks + " content chunks without word"
                                + expectedWords);
                    }
                    latencies.add(t1 - t0);
                    ttfts.add(firstToken - t0);
                    return;
                }
                if (data.startsWith("{\"error\"")) {
                    throw new IOException("error frame: " + abbreviate(data));
                }
                if (CONTENT.matcher(data).find()) {
                    if (firstToken < 0) {
                        firstToken = System.nanoTime();
                    }
                    contentChunks++;
                    sawLastWord |= data.contains(lastWord);
                }
            }
            throw new IOException("stream closed without [DONE] after " + contentChunks + " content chunks");
        }
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "<empty>";
        }
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    /** Growable primitive list: boxing a Long per sample would show up in the driver's own latency. */
    static final class LongList {
        private long[] values = new long[1024];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        void addAll(long[] vs) {
            for (long v : vs) {
                add(v);
            }
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}

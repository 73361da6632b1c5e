package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.s3.S3ProxyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three Parley processes behind nginx on loopback, sharing one PostgreSQL schema and the Redis on 127.0.0.1:6379
 * (stream log and heartbeats), answering from a paced fake OpenAI server: chats spread over the nodes; a client
 * whose stream is cut by a node killed with SIGKILL resumes through nginx and gets every remaining event exactly once
 * (the producing node alive), or the partial answer in an {@code interrupted} event (the producing node dead); the
 * same over the WebSocket; and a rolling restart of every node under a steady chat load loses no chat.
 */
class StreamResumeClusterIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "cluster-admin-" + UUID.randomUUID();
    /**
     * For requests straight to a node. Requests through nginx take a client of their own each ({@link #client}): nginx
     * closes idle keep-alive connections when it reloads (each node change here), and a client that sends its next
     * request on such a connection in that instant gets no answer (the JDK client does not retry a POST).
     */
    static final HttpClient HTTP = HttpClient.newHttpClient();
    /** 60 words answered one per 60 ms: a stream of about 4 s, long enough to kill a node in the middle of it. */
    static final String QUESTION = IntStream.rangeClosed(1, 60).mapToObj(i -> "w" + i).collect(Collectors.joining(" "));
    static final String ANSWER = "echo: " + QUESTION;

    @TempDir
    static Path temp;
    static PostgresSchema pg;
    static S3ProxyServer s3;
    static FakeOpenAiServer upstream;
    static Map<String, String> env;
    static final List<ParleyProcess> nodes = new CopyOnWriteArrayList<>();
    static Nginx nginx;
    static int started;

    @BeforeAll
    static void startCluster() throws Exception {
        pg = PostgresSchema.create("parley_resume_");
        // The nodes share the plugin registry as a cluster does: metadata in the database, jars in S3.
        s3 = new S3ProxyServer();
        s3.createBucket("parley-plugins");
        upstream = FakeOpenAiServer.start();
        upstream.tokenDelay(Duration.ofMillis(60));
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        env = new HashMap<>(pg.serverEnv());
        env.putAll(Map.of("OPENAI_BASE_URL", upstream.baseUrl(), "OPENAI_MODELS", "fake-model",
                "PARLEY_STREAMS_STORE", "redis", "PARLEY_REDIS_URI", "redis://127.0.0.1:6379",
                "PARLEY_ADMIN_TOKEN", TOKEN, "PARLEY_MASTER_KEY", "k1:" + Base64.getEncoder().encodeToString(key)));
        env.putAll(Map.of("PARLEY_REGISTRY_STORAGE", "s3", "PARLEY_REGISTRY_S3_ENDPOINT", s3.endpoint().toString(),
                "PARLEY_REGISTRY_S3_BUCKET", "parley-plugins", "PARLEY_REGISTRY_S3_ACCESS_KEY", S3ProxyServer.ACCESS_KEY,
                "PARLEY_REGISTRY_S3_SECRET_KEY", S3ProxyServer.SECRET_KEY, "PARLEY_REGISTRY_S3_REGION", "us-east-1"));
        // One first: its start migrates the schema; then the other two at once.
        nodes.add(startNode());
        var b = CompletableFuture.supplyAsync(StreamResumeClusterIT::startNodeUnchecked);
        var c = CompletableFuture.supplyAsync(StreamResumeClusterIT::startNodeUnchecked);
        nodes.add(b.get(120, TimeUnit.SECONDS));
        nodes.add(c.get(120, TimeUnit.SECONDS));
        nginx = Nginx.start(temp.resolve("nginx"), ports());
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (nginx != null) {
            nginx.close();
        }
        for (ParleyProcess node : nodes) {
            node.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (pg != null) {
            pg.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void chatsThroughNginxSpreadOverTheThreeNodes() throws Exception {
        Set<String> upstreams = new HashSet<>();
        String conversation = createConversation();
        for (int i = 0; i < 6; i++) {
            var r = client().send(viaNginx("/api/v1/conversations/" + conversation + "/messages")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"short " + i + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).at("/answer/content").asText()).isEqualTo("echo: short " + i);
            upstreams.add(answeredBy(r.headers().firstValue("X-Upstream").orElseThrow()));
        }
        assertThat(upstreams).containsExactlyInAnyOrderElementsOf(ports().stream().map(p -> "127.0.0.1:" + p).toList());
    }

    @Test
    void aClientWhoseRelayingNodeIsKilledGetsTheRestOfTheAnswerExactlyOnceThroughNginx() throws Exception {
        String conversation = createConversation();
        // The answer starts on one node, through nginx.
        var tokens = new CountDownLatch(5);
        var first = EventStream.open(client(), streamRequest(viaNginx("/api/v1/conversations/" + conversation
                + "/messages")), e -> countToken(e, tokens));
        assertThat(tokens.await(20, TimeUnit.SECONDS)).isTrue();
        ParleyProcess producer = node(first.response.headers().firstValue("X-Upstream").orElseThrow());
        String answerId = answerId(first);
        first.abort();
        List<EventStream.Event> seen = new ArrayList<>(first.events);

        // The client comes back on another node, which only relays the log: five more tokens, then that node dies.
        ParleyProcess relay = nodes.stream().filter(n -> n != producer).findFirst().orElseThrow();
        var more = new CountDownLatch(5);
        var second = EventStream.open(HTTP, resumeRequest(direct(relay, streamPath(conversation, answerId)),
                lastId(seen)), e -> countToken(e, more));
        assertThat(more.await(20, TimeUnit.SECONDS)).isTrue();
        relay.kill();
        second.ended.get(20, TimeUnit.SECONDS);
        seen.addAll(second.events);
        assertThat(second.last()).as("the relay died before the end").isNotEqualTo("done");

        // Through nginx again: whichever live node answers serves the rest from the log.
        var third = EventStream.open(client(), resumeRequest(viaNginx(streamPath(conversation, answerId)), lastId(seen)),
                e -> { });
        third.ended.get(30, TimeUnit.SECONDS);
        assertThat(third.response.statusCode()).isEqualTo(200);
        seen.addAll(third.events);

        assertEachEventOnceInOrder(seen);
        assertThat(third.last()).isEqualTo("done");
        assertThat(text(seen)).isEqualTo(ANSWER);
        JsonNode done = JSON.readTree(third.events.get(third.events.size() - 1).data());
        assertThat(done.at("/answer/content").asText()).isEqualTo(ANSWER);
        assertThat(done.at("/answer/status").asText()).isEqualTo("complete");
        replace(relay);
    }

    @Test
    void aClientWhoseProducingNodeIsKilledGetsThePartialAnswerAsInterruptedNeverAHang() throws Exception {
        String conversation = createConversation();
        var tokens = new CountDownLatch(10);
        var stream = EventStream.open(client(), streamRequest(viaNginx("/api/v1/conversations/" + conversation
                + "/messages")), e -> countToken(e, tokens));
        assertThat(tokens.await(20, TimeUnit.SECONDS)).isTrue();
        ParleyProcess producer = node(stream.response.headers().firstValue("X-Upstream").orElseThrow());
        String answerId = answerId(stream);
        producer.kill();
        stream.ended.get(20, TimeUnit.SECONDS);
        List<EventStream.Event> seen = new ArrayList<>(stream.events);
        assertThat(stream.last()).isEqualTo("token");

        long resumedAt = System.nanoTime();
        var resumed = EventStream.open(client(), resumeRequest(viaNginx(streamPath(conversation, answerId)),
                lastId(seen)), e -> { });
        resumed.ended.get(30, TimeUnit.SECONDS);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - resumedAt);
        seen.addAll(resumed.events);

        assertEachEventOnceInOrder(seen);
        assertThat(resumed.last()).as("%s", resumed.events).isEqualTo("interrupted");
        JsonNode interrupted = JSON.readTree(resumed.events.get(resumed.events.size() - 1).data());
        String partial = interrupted.at("/answer/content").asText();
        assertThat(partial).isEqualTo(text(seen)).startsWith("echo: w1 w2").isNotEqualTo(ANSWER);
        assertThat(interrupted.at("/answer/status").asText()).isEqualTo("interrupted");
        assertThat(interrupted.path("code").asText()).isEqualTo("unavailable");
        // Stored so: any node shows the same partial answer.
        JsonNode stored = messages(conversation).get(1);
        assertThat(stored.path("status").asText()).isEqualTo("interrupted");
        assertThat(stored.path("content").asText()).isEqualTo(partial);
        // Found out within the producer timeout (3 s) and a poll, not after a request timeout.
        assertThat(tookMs).as("resume to interrupted").isLessThan(15_000);
        replace(producer);
    }

    @Test
    void aWebSocketClientResumesThroughNginxAfterItsNodeIsKilled() throws Exception {
        String conversation = createConversation();
        ParleyProcess producer = nodes.get(0);
        var firstFrames = new CopyOnWriteArrayList<JsonNode>();
        var tokens = new CountDownLatch(8);
        var closed = new CompletableFuture<Void>();
        WebSocket first = socket(URI.create("ws://127.0.0.1:" + producer.port + "/api/v1/chat/ws"), firstFrames,
                tokens, closed);
        first.sendText("{\"type\":\"send\",\"id\":\"q\",\"conversationId\":\"" + conversation + "\",\"content\":\""
                + QUESTION + "\"}", true).get(5, TimeUnit.SECONDS);
        assertThat(tokens.await(20, TimeUnit.SECONDS)).isTrue();
        producer.kill();
        closed.get(20, TimeUnit.SECONDS);
        String answerId = firstFrames.get(0).path("answerId").asText();
        long last = firstFrames.get(firstFrames.size() - 1).path("seq").asLong();

        var frames = new CopyOnWriteArrayList<JsonNode>();
        var end = new CountDownLatch(1);
        WebSocket again = socket(URI.create("ws://127.0.0.1:" + nginx.port + "/api/v1/chat/ws"), frames, end,
                new CompletableFuture<>(), "interrupted", "done", "error");
        again.sendText("{\"type\":\"resume\",\"id\":\"r\",\"conversationId\":\"" + conversation + "\",\"answerId\":\""
                + answerId + "\",\"after\":" + last + "}", true).get(5, TimeUnit.SECONDS);
        assertThat(end.await(30, TimeUnit.SECONDS)).as("%s", frames).isTrue();

        List<JsonNode> all = new ArrayList<>(firstFrames);
        all.addAll(frames);
        assertThat(all.stream().map(f -> f.path("seq").asLong()).toList())
                .isEqualTo(longsFrom(1, all.size()));
        JsonNode lastFrame = frames.get(frames.size() - 1);
        assertThat(lastFrame.path("type").asText()).isEqualTo("interrupted");
        String text = all.stream().filter(f -> f.path("type").asText().equals("token"))
                .map(f -> f.path("delta").asText()).collect(Collectors.joining());
        assertThat(lastFrame.at("/answer/content").asText()).isEqualTo(text).startsWith("echo: w1");
        again.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        replace(producer);
    }

    @Test
    void aWebSocketClientWhoseRelayingNodeIsKilledGetsTheRestExactlyOnceThroughNginx() throws Exception {
        String conversation = createConversation();
        ParleyProcess producer = nodes.get(1);
        ParleyProcess relay = nodes.get(2);
        // The turn starts on one node; the client leaves after five tokens (the answer goes on in the log).
        var firstFrames = new CopyOnWriteArrayList<JsonNode>();
        var tokens = new CountDownLatch(5);
        WebSocket first = socket(URI.create("ws://127.0.0.1:" + producer.port + "/api/v1/chat/ws"), firstFrames,
                tokens, new CompletableFuture<>());
        first.sendText("{\"type\":\"send\",\"id\":\"q\",\"conversationId\":\"" + conversation
                + "\",\"content\":\"" + QUESTION + "\"}", true).get(5, TimeUnit.SECONDS);
        assertThat(tokens.await(20, TimeUnit.SECONDS)).isTrue();
        first.abort();
        List<JsonNode> all = new ArrayList<>(firstFrames);
        String answerId = all.get(0).path("answerId").asText();

        // It comes back on a node that only relays the log; that node dies after five more tokens.
        var relayFrames = new CopyOnWriteArrayList<JsonNode>();
        var more = new CountDownLatch(5);
        var relayClosed = new CompletableFuture<Void>();
        WebSocket second = socket(URI.create("ws://127.0.0.1:" + relay.port + "/api/v1/chat/ws"), relayFrames, more,
                relayClosed);
        second.sendText(resumeFrame("r1", conversation, answerId, lastSeq(all)), true).get(5, TimeUnit.SECONDS);
        assertThat(more.await(20, TimeUnit.SECONDS)).isTrue();
        relay.kill();
        relayClosed.get(20, TimeUnit.SECONDS);
        all.addAll(relayFrames);

        // Through nginx: a live node serves the rest from the log, each frame once.
        var frames = new CopyOnWriteArrayList<JsonNode>();
        var end = new CountDownLatch(1);
        WebSocket third = socket(URI.create("ws://127.0.0.1:" + nginx.port + "/api/v1/chat/ws"), frames, end,
                new CompletableFuture<>(), "interrupted", "done", "error");
        third.sendText(resumeFrame("r2", conversation, answerId, lastSeq(all)), true).get(5, TimeUnit.SECONDS);
        assertThat(end.await(30, TimeUnit.SECONDS)).as("%s", frames).isTrue();
        all.addAll(frames);

        assertThat(all.stream().map(f -> f.path("seq").asLong()).toList()).isEqualTo(longsFrom(1, all.size()));
        JsonNode done = frames.get(frames.size() - 1);
        assertThat(done.path("type").asText()).isEqualTo("done");
        String text = all.stream().filter(f -> f.path("type").asText().equals("token"))
                .map(f -> f.path("delta").asText()).collect(Collectors.joining());
        assertThat(text).isEqualTo(ANSWER);
        assertThat(done.at("/answer/content").asText()).isEqualTo(ANSWER);
        third.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        replace(relay);
    }

    static String resumeFrame(String id, String conversation, String answerId, long after) {
        return "{\"type\":\"resume\",\"id\":\"" + id + "\",\"conversationId\":\"" + conversation
                + "\",\"answerId\":\"" + answerId + "\",\"after\":" + after + "}";
    }

    static long lastSeq(List<JsonNode> frames) {
        return frames.get(frames.size() - 1).path("seq").asLong();
    }

    @Test
    void aRollingRestartOfEveryNodeUnderSteadyLoadLosesNoChat() throws Exception {
        String conversation = createConversation();
        var outcomes = new CopyOnWriteArrayList<String>();
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            int client = c;
            clients.add(CompletableFuture.runAsync(() -> {
                int i = 0;
                while (!stop.get()) {
                    outcomes.add(chatOnce(conversation, "load " + client + " " + i++));
                }
            }));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> outcomes.size() >= 3);
        for (ParleyProcess old : List.copyOf(nodes)) {
            // As an operator drains a node: out of the balancer first, then SIGTERM (its streams finish), then back.
            nginx.upstreams(ports(), Set.of(old.port));
            assertThat(old.stop()).isEqualTo(143);
            ParleyProcess fresh = startNode();
            nodes.set(nodes.indexOf(old), fresh);
            nginx.upstreams(ports(), Set.of());
            int before = outcomes.size();
            await().atMost(Duration.ofSeconds(30)).until(() -> outcomes.size() >= before + 3);
        }
        stop.set(true);
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        assertThat(outcomes).hasSizeGreaterThan(10).allMatch(o -> o.equals("done"), "every chat done");
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /** One streamed chat through nginx: "done" when the whole answer came, else what went wrong. */
    static String chatOnce(String conversation, String content) {
        try {
            var stream = EventStream.open(client(), HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nginx.port
                    + "/api/v1/conversations/" + conversation + "/messages")).header("Authorization", "Bearer " + TOKEN)
                    .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"" + content + "\"}")).build(), e -> { });
            stream.ended.get(60, TimeUnit.SECONDS);
            if (stream.response.statusCode() != 200) {
                return "status " + stream.response.statusCode();
            }
            if (!"done".equals(stream.last())) {
                return "ended with " + stream.last();
            }
            return JSON.readTree(stream.events.get(stream.events.size() - 1).data()).at("/answer/content").asText()
                    .equals("echo: " + content) ? "done" : "wrong answer";
        } catch (Exception e) {
            return e.toString();
        }
    }

    static List<Long> longsFrom(long from, int count) {
        return java.util.stream.LongStream.range(from, from + count).boxed().toList();
    }

    static WebSocket socket(URI uri, List<JsonNode> frames, CountDownLatch latch, CompletableFuture<Void> closed,
            String... counted) throws Exception {
        Set<String> types = counted.length == 0 ? Set.of("token") : Set.of(counted);
        return client().newWebSocketBuilder().header("Authorization", "Bearer " + TOKEN)
                .buildAsync(uri, new WebSocket.Listener() {
                    final StringBuilder partial = new StringBuilder();

                    @Override
                    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            try {
                                JsonNode frame = JSON.readTree(partial.toString());
                                frames.add(frame);
                                if (types.contains(frame.path("type").asText())) {
                                    latch.countDown();
                                }
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                            partial.setLength(0);
                        }
                        ws.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
                        closed.complete(null);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket ws, Throwable error) {
                        closed.complete(null);
                    }
                }).get(10, TimeUnit.SECONDS);
    }

    static void assertEachEventOnceInOrder(List<EventStream.Event> events) {
        assertThat(events.stream().map(EventStream.Event::id).toList()).isEqualTo(longsFrom(1, events.size()));
    }

    static long lastId(List<EventStream.Event> events) {
        return events.get(events.size() - 1).id();
    }

    static String text(List<EventStream.Event> events) throws Exception {
        StringBuilder text = new StringBuilder();
        for (var e : events) {
            if (e.name().equals("token")) {
                text.append(JSON.readTree(e.data()).path("delta").asText());
            }
        }
        return text.toString();
    }

    static void countToken(EventStream.Event e, CountDownLatch latch) {
        if (e.name().equals("token")) {
            latch.countDown();
        }
    }

    static String answerId(EventStream stream) throws Exception {
        return JSON.readTree(stream.events.get(0).data()).path("answerId").asText();
    }

    static String streamPath(String conversation, String answerId) {
        return "/api/v1/conversations/" + conversation + "/messages/" + answerId + "/stream";
    }

    static HttpRequest streamRequest(HttpRequest.Builder b) {
        return b.header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"" + QUESTION + "\"}")).build();
    }

    static HttpRequest resumeRequest(HttpRequest.Builder b, long lastEventId) {
        return b.header("Accept", "text/event-stream").header("Last-Event-ID", Long.toString(lastEventId)).GET()
                .build();
    }

    /** A client with no pooled connection: a new connection for its request (see {@link #HTTP}). */
    static HttpClient client() {
        return HttpClient.newHttpClient();
    }

    static HttpRequest.Builder viaNginx(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nginx.port + path))
                .header("Authorization", "Bearer " + TOKEN);
    }

    static HttpRequest.Builder direct(ParleyProcess node, String path) {
        return node.request(path);
    }

    static String createConversation() throws Exception {
        var r = client().send(viaNginx("/api/v1/conversations").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body()).path("id").asText();
    }

    static JsonNode messages(String conversation) throws Exception {
        var r = client().send(viaNginx("/api/v1/conversations/" + conversation + "/messages").build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).path("items");
    }

    /**
     * The node that answered, from X-Upstream: nginx lists every node it tried ("a, b"), the last one answered. An old
     * worker process finishing its connections after a reload may still try a node that was replaced.
     */
    static String answeredBy(String upstreams) {
        return upstreams.substring(upstreams.lastIndexOf(',') + 1).strip();
    }

    /** The node nginx named in X-Upstream. */
    static ParleyProcess node(String upstreams) {
        String upstreamAddress = answeredBy(upstreams);
        int port = Integer.parseInt(upstreamAddress.substring(upstreamAddress.lastIndexOf(':') + 1));
        return nodes.stream().filter(n -> n.port == port).findFirst().orElseThrow();
    }

    static List<Integer> ports() {
        return nodes.stream().map(n -> n.port).toList();
    }

    /** A dead node's place taken by a fresh one, in nginx too. */
    static void replace(ParleyProcess dead) throws Exception {
        ParleyProcess fresh = startNode();
        nodes.set(nodes.indexOf(dead), fresh);
        nginx.upstreams(ports(), Set.of());
    }

    static ParleyProcess startNode() throws java.io.IOException {
        int n = nextNode();
        var nodeEnv = new HashMap<>(env);
        nodeEnv.put("PARLEY_NODE_ID", "node-" + n);
        return ParleyProcess.start(temp.resolve("node-" + n), nodeEnv);
    }

    static synchronized int nextNode() {
        return ++started;
    }

    static ParleyProcess startNodeUnchecked() {
        try {
            return startNode();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One server on its embedded defaults (the stream log in process): a client that leaves a streamed answer takes it
 * up again on the same node, the answer having gone on without it; a resume after the end gets the end again; bad
 * resumes get problems, never a stream.
 */
class StreamResumeIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String QUESTION = IntStream.rangeClosed(1, 40).mapToObj(i -> "v" + i).collect(Collectors.joining(" "));
    static final String ANSWER = "echo: " + QUESTION;

    @TempDir
    static Path temp;
    static FakeOpenAiServer upstream;
    static ParleyProcess parley;

    @BeforeAll
    static void start() throws Exception {
        upstream = FakeOpenAiServer.start();
        upstream.tokenDelay(Duration.ofMillis(40));
        parley = ParleyProcess.start(temp.resolve("data"), Map.of("OPENAI_BASE_URL", upstream.baseUrl(),
                "OPENAI_MODELS", "fake-model"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    @Test
    void aClientThatLeavesResumesOnTheSameNodeAndGetsTheRestExactlyOnce() throws Exception {
        String conversation = conversation();
        var tokens = new CountDownLatch(5);
        var first = EventStream.open(HTTP, parley.request("/api/v1/conversations/" + conversation + "/messages")
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"" + QUESTION + "\"}")).build(), e -> {
                    if (e.name().equals("token")) {
                        tokens.countDown();
                    }
                });
        assertThat(tokens.await(20, TimeUnit.SECONDS)).isTrue();
        first.abort();
        List<EventStream.Event> seen = new ArrayList<>(first.events);
        String answerId = JSON.readTree(seen.get(0).data()).path("answerId").asText();

        var rest = EventStream.open(HTTP, resume(conversation, answerId, Long.toString(seen.get(seen.size() - 1).id())),
                e -> { });
        rest.ended.get(30, TimeUnit.SECONDS);
        assertThat(rest.response.statusCode()).isEqualTo(200);
        assertThat(rest.response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        seen.addAll(rest.events);

        assertThat(seen.stream().map(EventStream.Event::id).toList())
                .isEqualTo(LongStream.rangeClosed(1, seen.size()).boxed().toList());
        assertThat(rest.last()).isEqualTo("done");
        StringBuilder text = new StringBuilder();
        for (var e : seen) {
            if (e.name().equals("token")) {
                text.append(JSON.readTree(e.data()).path("delta").asText());
            }
        }
        assertThat(text.toString()).isEqualTo(ANSWER);
        assertThat(JSON.readTree(rest.events.get(rest.events.size() - 1).data()).at("/answer/content").asText())
                .isEqualTo(ANSWER);
        // The answer went on while no client read it: stored whole, and the upstream was not cancelled.
        JsonNode stored = messages(conversation).get(1);
        assertThat(stored.path("status").asText()).isEqualTo("complete");
        assertThat(stored.path("content").asText()).isEqualTo(ANSWER);

        // Once more after the end: the end again, nothing before it.
        long last = seen.get(seen.size() - 1).id();
        var again = EventStream.open(HTTP, resume(conversation, answerId, Long.toString(last)), e -> { });
        again.ended.get(20, TimeUnit.SECONDS);
        assertThat(again.events).extracting(EventStream.Event::name).containsExactly("done");
        // From the start: every event again, in order.
        var all = EventStream.open(HTTP, resume(conversation, answerId, "0"), e -> { });
        all.ended.get(20, TimeUnit.SECONDS);
        assertThat(all.events).extracting(EventStream.Event::name).isEqualTo(seen.stream().map(EventStream.Event::name)
                .toList());
    }

    @Test
    void badResumesAreProblemsNeverStreams() throws Exception {
        String conversation = conversation();
        var done = HTTP.send(parley.request("/api/v1/conversations/" + conversation + "/messages")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"hello there\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        String answerId = JSON.readTree(done.body()).at("/answer/id").asText();

        assertProblem(resume(conversation, answerId, "abc"), 400, "invalid-request");
        assertProblem(resume(conversation, answerId, "-1"), 400, "invalid-request");
        assertProblem(resume(conversation, answerId, "99999999999999999999999"), 400, "invalid-request");
        assertProblem(resume(conversation, "msg_unknown", "0"), 404, "not-found");
        assertProblem(resume("conv_unknown", answerId, "0"), 404, "not-found");
        String userMessageId = JSON.readTree(done.body()).at("/userMessage/id").asText();
        assertProblem(resume(conversation, userMessageId, "0"), 404, "not-found");
        // Answered whole (not streamed), so never logged: its end comes from the store.
        var whole = EventStream.open(HTTP, resume(conversation, answerId, "0"), e -> { });
        whole.ended.get(20, TimeUnit.SECONDS);
        assertThat(whole.events).extracting(EventStream.Event::name).containsExactly("done");
        assertThat(JSON.readTree(whole.events.get(0).data()).at("/answer/content").asText())
                .isEqualTo("echo: hello there");
        var anonymous = HTTP.send(HttpRequest.newBuilder(parley.uri("/api/v1/conversations/" + conversation
                + "/messages/" + answerId + "/stream")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }

    static void assertProblem(HttpRequest request, int status, String code) throws Exception {
        var r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(JSON.readTree(r.body()).path("code").asText()).isEqualTo(code);
    }

    static HttpRequest resume(String conversation, String answerId, String lastEventId) {
        return parley.request("/api/v1/conversations/" + conversation + "/messages/" + answerId + "/stream")
                .header("Accept", "text/event-stream").header("Last-Event-ID", lastEventId).GET().build();
    }

    static String conversation() throws Exception {
        var r = HTTP.send(parley.request("/api/v1/conversations").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).path("id").asText();
    }

    static JsonNode messages(String conversation) throws Exception {
        return JSON.readTree(HTTP.send(parley.request("/api/v1/conversations/" + conversation + "/messages").build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("items");
    }

}

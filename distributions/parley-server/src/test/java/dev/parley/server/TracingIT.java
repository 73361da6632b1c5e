package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.otlp.OtlpReceiver;
import dev.parley.testsupport.otlp.ReceivedSpan;

/**
 * A streamed chat's trace, whole, in a real OTLP receiver: the exported server jar exports over OTLP/HTTP (protobuf)
 * to a receiver in this test, which decodes the spans; the trace continues the client's traceparent and reaches the
 * model server in the upstream request's traceparent; the JSON log line of the answer's end names the same trace.
 */
class TracingIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final Duration WAIT = Duration.ofSeconds(30);
    static final String SECRET_PROMPT = "the launch code is 0000";

    @TempDir
    static Path temp;
    static OtlpReceiver collector;
    static FakeOpenAiServer upstream;
    static ParleyProcess parley;

    @BeforeAll
    static void start() throws Exception {
        collector = OtlpReceiver.start();
        upstream = FakeOpenAiServer.start("sk-upstream");
        parley = ParleyProcess.start(temp.resolve("data"), Map.of(
                "OPENAI_API_KEY", "sk-upstream",
                "OPENAI_BASE_URL", upstream.baseUrl(),
                "OPENAI_MODELS", "fake-model",
                "OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint(),
                "OTEL_SERVICE_NAME", "parley-e2e",
                "PARLEY_LOG_FORMAT", "json",
                // Export each batch quickly rather than every 5 s; the spans themselves are what is checked.
                "OTEL_BSP_SCHEDULE_DELAY", "100"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (collector != null) {
            collector.close();
        }
    }

    @Test
    void aStreamedCompletionIsOneTraceFromTheClientsTraceparentToTheModelServer() throws Exception {
        String traceId = "5b8efff798038103d269b633813fc60c";
        String clientSpan = "eee19b7ec3c1b174";
        var request = parley.request("/v1/chat/completions")
                .header("Content-Type", "application/json")
                .header("traceparent", "00-" + traceId + "-" + clientSpan + "-01")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"fake-model\",\"stream\":true,\"messages\":"
                        + "[{\"role\":\"user\",\"content\":\"" + SECRET_PROMPT + "\"}]}"))
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("data: [DONE]");

        List<ReceivedSpan> trace = collector.awaitSpans(all -> all.stream().filter(s -> s.traceId().equals(traceId))
                .count() >= 3, WAIT).stream().filter(s -> s.traceId().equals(traceId)).toList();
        String tree = OtlpReceiver.renderTree(trace);

        ReceivedSpan server = one(trace, "POST /v1/chat/completions", tree);
        ReceivedSpan core = one(trace, "chat completion", tree);
        ReceivedSpan model = one(trace, "chat fake-model", tree);
        assertThat(server.kind()).as(tree).isEqualTo(ReceivedSpan.Kind.SERVER);
        assertThat(server.parentSpanId()).as(tree).isEqualTo(clientSpan);
        assertThat(core.parentSpanId()).as(tree).isEqualTo(server.spanId());
        assertThat(model.parentSpanId()).as(tree).isEqualTo(core.spanId());
        assertThat(model.kind()).as(tree).isEqualTo(ReceivedSpan.Kind.CLIENT);

        assertThat(server.attributes()).containsEntry("http.request.method", "POST")
                .containsEntry("http.route", "/v1/chat/completions").containsEntry("http.response.status_code", 200L);
        assertThat(model.attributes()).containsEntry("gen_ai.operation.name", "chat")
                .containsEntry("gen_ai.provider.name", "openai").containsEntry("gen_ai.request.model", "fake-model")
                .containsKey("gen_ai.usage.input_tokens").containsKey("gen_ai.usage.output_tokens")
                .containsEntry("gen_ai.response.finish_reasons", List.of("stop"));
        assertThat(model.resourceAttributes()).containsEntry("service.name", "parley-e2e");
        // The stream's server span lasts until its last byte, not until the request thread returned.
        assertThat(server.endEpochNanos()).as(tree).isGreaterThanOrEqualTo(model.endEpochNanos());

        // The model server got the trace: traceparent with this trace id and the model-call span as parent.
        RecordedRequest sent = upstream.chatRequests().stream()
                .filter(r -> r.body().toString().contains(SECRET_PROMPT)).findFirst().orElseThrow();
        assertThat(sent.header("traceparent")).isEqualTo("00-" + traceId + "-" + model.spanId() + "-01");

        // The JSON log line of the answer's end carries the trace, though it is written on core's store writer.
        await().atMost(WAIT).untilAsserted(() -> assertThat(logLines()).anySatisfy(line -> {
            assertThat(line.path("message").asText()).startsWith("turn completed");
            assertThat(line.path("trace_id").asText()).isEqualTo(traceId);
            assertThat(line.path("span_id").asText()).isEqualTo(core.spanId());
        }));

        // Prompts and answers are not recorded unless an admin turns content capture on.
        assertThat(trace).allSatisfy(s -> {
            assertThat(s.attributes()).doesNotContainKeys("gen_ai.input.messages", "gen_ai.output.messages");
            assertThat(s.attributes().values().toString()).doesNotContain(SECRET_PROMPT);
        });
    }

    @Test
    void aConversationTurnWithoutTraceparentStartsItsOwnTrace() throws Exception {
        var created = HTTP.send(parley.request("/api/v1/conversations")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"title\":\"traced\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        String conversation = JSON.readTree(created.body()).get("id").asText();
        var turn = HTTP.send(parley.request("/api/v1/conversations/" + conversation + "/messages")
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"trace this turn\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(turn.statusCode()).isEqualTo(200);

        List<ReceivedSpan> spans = collector.awaitSpans(all -> all.stream().anyMatch(s -> s.name().equals("chat turn")
                && conversation.equals(s.attribute("gen_ai.conversation.id"))), WAIT);
        ReceivedSpan core = spans.stream().filter(s -> s.name().equals("chat turn")
                && conversation.equals(s.attribute("gen_ai.conversation.id"))).findFirst().orElseThrow();
        List<ReceivedSpan> trace = collector.awaitSpans(all -> all.stream()
                .filter(s -> s.traceId().equals(core.traceId())).count() >= 3, WAIT).stream()
                .filter(s -> s.traceId().equals(core.traceId())).toList();
        String tree = OtlpReceiver.renderTree(trace);
        ReceivedSpan server = one(trace, "POST /api/v1/conversations/{id}/messages", tree);
        assertThat(server.isRoot()).as(tree).isTrue();
        assertThat(core.parentSpanId()).as(tree).isEqualTo(server.spanId());
        assertThat(one(trace, "chat fake-model", tree).parentSpanId()).as(tree).isEqualTo(core.spanId());
        assertThat(core.attributes()).containsKey("gen_ai.usage.output_tokens");
    }

    private static List<JsonNode> logLines() throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(parley.log)) {
            if (line.startsWith("{")) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }

    private static ReceivedSpan one(List<ReceivedSpan> trace, String name, String tree) {
        List<ReceivedSpan> named = trace.stream().filter(s -> s.name().equals(name)).toList();
        assertThat(named).as("spans named '%s' in%n%s", name, tree).hasSize(1);
        return named.get(0);
    }

    static Optional<ReceivedSpan> first(List<ReceivedSpan> spans, String name) {
        return spans.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}

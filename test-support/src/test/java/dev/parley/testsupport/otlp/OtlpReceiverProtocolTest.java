package dev.parley.testsupport.otlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.common.v1.KeyValueList;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** OTLP/HTTP as the specification words it, driven byte by byte, and the receiver's test helpers. */
class OtlpReceiverProtocolTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();
    private static final String TRACE = "5b8efff798038103d269b633813fc60c";
    private static final String ROOT = "eee19b7ec3c1b174";
    private static final String CHILD = "eee19b7ec3c1b173";

    private final OtlpReceiver otlp = OtlpReceiver.start();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() {
        otlp.close();
    }

    @Test
    void listensOnLoopbackAndNamesItsEndpoints() {
        assertThat(otlp.port()).isPositive();
        assertThat(otlp.endpoint()).isEqualTo("http://127.0.0.1:" + otlp.port());
        assertThat(otlp.tracesEndpoint()).isEqualTo(otlp.endpoint() + "/v1/traces");
        assertThat(otlp.tracesUri()).isEqualTo(URI.create(otlp.tracesEndpoint()));
    }

    @Test
    void acceptsProtobufAndAnswersAnExportTraceServiceResponse() throws Exception {
        HttpResponse<byte[]> response = post("/v1/traces", "application/x-protobuf", null, request().toByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/x-protobuf");
        assertThat(ExportTraceServiceResponse.parseFrom(response.body()))
                .isEqualTo(ExportTraceServiceResponse.getDefaultInstance());
        assertDecodedRequest(otlp.spans());
    }

    @Test
    void acceptsGzippedProtobufWithAMediaTypeParameter() throws Exception {
        HttpResponse<byte[]> response = post("/v1/traces", "application/x-protobuf; charset=binary", "gzip",
                gzip(request().toByteArray()));

        assertThat(response.statusCode()).isEqualTo(200);
        assertDecodedRequest(otlp.spans());
        assertThat(otlp.exportRequests()).singleElement().satisfies(r -> {
            assertThat(r.contentType()).isEqualTo("application/x-protobuf");
            assertThat(r.contentEncoding()).isEqualTo("gzip");
            assertThat(r.spans()).isEqualTo(2);
            assertThat(r.accepted()).isTrue();
        });
    }

    @Test
    void acceptsOtlpJsonWithHexIdsAndIntegerEnums() throws Exception {
        // The shape of opentelemetry-proto's examples/trace.json: hex ids, enums as integers, int64 as strings.
        String json = """
                {"resourceSpans":[{
                  "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"parley-json"}}]},
                  "scopeSpans":[{
                    "scope":{"name":"dev.parley.json","version":"2.0.0"},
                    "spans":[
                      {"traceId":"%1$s","spanId":"%2$s","name":"root","kind":2,
                       "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
                       "attributes":[{"key":"n","value":{"intValue":"7"}},
                                     {"key":"kv","value":{"kvlistValue":{"values":[{"key":"a","value":{"boolValue":true}}]}}},
                                     {"key":"raw","value":{"bytesValue":"AQI="}}],
                       "status":{"code":1}, "someFutureField":{"x":1}},
                      {"traceId":"%1$s","spanId":"%3$s","parentSpanId":"%2$s","name":"child","kind":3,
                       "startTimeUnixNano":1544712660100000000,"endTimeUnixNano":1544712660200000000,
                       "events":[{"timeUnixNano":"1544712660150000000","name":"tick",
                                  "attributes":[{"key":"d","value":{"doubleValue":1.5}}]}],
                       "links":[{"traceId":"%1$s","spanId":"%2$s"}],
                       "status":{"code":2,"message":"bad"}}]}]}]}
                """.formatted(TRACE, ROOT, CHILD);

        HttpResponse<byte[]> response = post("/v1/traces", "application/json", null,
                json.getBytes(StandardCharsets.UTF_8));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(JSON.readTree(response.body()).isObject()).isTrue();
        List<ReceivedSpan> spans = otlp.trace(TRACE);
        assertThat(spans).extracting(ReceivedSpan::name).containsExactly("root", "child");
        ReceivedSpan root = spans.get(0);
        ReceivedSpan child = spans.get(1);
        assertThat(root.spanId()).isEqualTo(ROOT);
        assertThat(root.isRoot()).isTrue();
        assertThat(root.kind()).isEqualTo(ReceivedSpan.Kind.SERVER);
        assertThat(root.startEpochNanos()).isEqualTo(1544712660000000000L);
        assertThat(root.durationNanos()).isEqualTo(1_000_000_000L);
        assertThat(root.attributes()).containsExactly(
                Map.entry("n", 7L),
                Map.entry("kv", Map.of("a", true)),
                Map.entry("raw", ByteBuffer.wrap(new byte[] {1, 2})));
        assertThat(root.status().code()).isEqualTo(ReceivedSpan.StatusCode.OK);
        assertThat(root.resourceAttributes()).containsExactly(Map.entry("service.name", "parley-json"));
        assertThat(root.scopeName()).isEqualTo("dev.parley.json");
        assertThat(root.scopeVersion()).isEqualTo("2.0.0");
        assertThat(child.parentSpanId()).isEqualTo(ROOT);
        assertThat(child.kind()).isEqualTo(ReceivedSpan.Kind.CLIENT);
        assertThat(child.startEpochNanos()).isEqualTo(1544712660100000000L);
        assertThat(child.events()).containsExactly(
                new ReceivedSpan.Event("tick", 1544712660150000000L, Map.of("d", 1.5)));
        assertThat(child.links()).containsExactly(new ReceivedSpan.Link(TRACE, ROOT, "", Map.of()));
        assertThat(child.status()).isEqualTo(new ReceivedSpan.Status(ReceivedSpan.StatusCode.ERROR, "bad"));
    }

    @Test
    void refusesMalformedProtobufWith400AndAnRpcStatus() throws Exception {
        // Field 1, length-delimited, says 127 bytes follow; none do.
        HttpResponse<byte[]> response = post("/v1/traces", "application/x-protobuf", null, new byte[] {0x0a, 0x7f});

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/x-protobuf");
        UnknownFieldSet status = UnknownFieldSet.parseFrom(response.body());
        assertThat(status.getField(1).getVarintList()).containsExactly(3L); // INVALID_ARGUMENT
        assertThat(status.getField(2).getLengthDelimitedList()).singleElement()
                .extracting(ByteString::toStringUtf8).asString().contains("ExportTraceServiceRequest");
        assertThat(otlp.spans()).isEmpty();
        assertThat(otlp.exportRequests()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.error()).contains("ExportTraceServiceRequest");
        });
    }

    @Test
    void refusesMalformedJsonWith400AndAJsonRpcStatus() throws Exception {
        HttpResponse<byte[]> notJson = post("/v1/traces", "application/json", null,
                "{\"resourceSpans\":[".getBytes(StandardCharsets.UTF_8));
        // The plain protobuf JSON mapping would take base64 ids; OTLP/JSON takes hex.
        HttpResponse<byte[]> base64Id = post("/v1/traces", "application/json", null,
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"W47/95gDgQPSabYzgT/GDA==\"}]}]}]}"
                        .getBytes(StandardCharsets.UTF_8));

        for (HttpResponse<byte[]> response : List.of(notJson, base64Id)) {
            assertThat(response.statusCode()).isEqualTo(400);
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
            JsonNode status = JSON.readTree(response.body());
            assertThat(status.path("code").asInt()).isEqualTo(3);
            assertThat(status.path("message").asText()).isNotBlank();
        }
        assertThat(JSON.readTree(base64Id.body()).path("message").asText()).contains("traceId must be hex");
        assertThat(otlp.spans()).isEmpty();
    }

    @Test
    void refusesABodyThatIsNotTheGzipItClaims() throws Exception {
        HttpResponse<byte[]> response = post("/v1/traces", "application/x-protobuf", "gzip", request().toByteArray());

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(UnknownFieldSet.parseFrom(response.body()).getField(2).getLengthDelimitedList().get(0)
                .toStringUtf8()).contains("gzip");
        assertThat(otlp.spans()).isEmpty();
    }

    @Test
    void answersOtherPathsMethodsAndContentTypesWithTheirHttpErrors() throws Exception {
        byte[] body = request().toByteArray();

        HttpResponse<byte[]> metrics = post("/v1/metrics", "application/x-protobuf", null, body);
        HttpResponse<byte[]> root = post("/", "application/x-protobuf", null, body);
        HttpResponse<byte[]> get = http.send(HttpRequest.newBuilder(otlp.tracesUri()).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> text = post("/v1/traces", "text/plain", null, body);
        HttpResponse<byte[]> brotli = post("/v1/traces", "application/x-protobuf", "br", body);

        assertThat(metrics.statusCode()).isEqualTo(404);
        assertThat(new String(metrics.body(), StandardCharsets.UTF_8)).contains("/v1/metrics");
        assertThat(root.statusCode()).isEqualTo(404);
        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.headers().firstValue("Allow")).hasValue("POST");
        assertThat(text.statusCode()).isEqualTo(415);
        assertThat(new String(text.body(), StandardCharsets.UTF_8)).contains("application/x-protobuf", "text/plain");
        assertThat(brotli.statusCode()).isEqualTo(415);
        assertThat(otlp.spans()).isEmpty();
        assertThat(otlp.requests()).isEqualTo(5);
        assertThat(otlp.exportRequests()).extracting(ExportRequest::status).containsExactly(404, 404, 405, 415, 415);
    }

    @Test
    void anEmptyExportIsASuccess() throws Exception {
        HttpResponse<byte[]> response = post("/v1/traces", "application/x-protobuf", null, new byte[0]);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(otlp.spans()).isEmpty();
        assertThat(otlp.requests()).isEqualTo(1);
    }

    @Test
    void throttlesTheNextRequestsWithRetryAfterThenAcceptsAgain() throws Exception {
        otlp.throttleNext(2, 429, Duration.ofMillis(1500));
        byte[] body = request().toByteArray();

        HttpResponse<byte[]> first = post("/v1/traces", "application/x-protobuf", null, body);
        HttpResponse<byte[]> second = post("/v1/traces", "application/json", null, "{}".getBytes(StandardCharsets.UTF_8));
        HttpResponse<byte[]> third = post("/v1/traces", "application/x-protobuf", null, body);

        assertThat(first.statusCode()).isEqualTo(429);
        assertThat(first.headers().firstValue("Retry-After")).hasValue("2");
        assertThat(UnknownFieldSet.parseFrom(first.body()).getField(1).getVarintList()).containsExactly(8L);
        assertThat(second.statusCode()).isEqualTo(429);
        assertThat(JSON.readTree(second.body()).path("code").asInt()).isEqualTo(8); // RESOURCE_EXHAUSTED
        assertThat(third.statusCode()).isEqualTo(200);
        assertThat(otlp.spans()).hasSize(2);
    }

    @Test
    void awaitSpansWakesWhenSpansArrive() throws Exception {
        CountDownLatch tested = new CountDownLatch(1);
        CompletableFuture<List<ReceivedSpan>> awaited = CompletableFuture.supplyAsync(() ->
                otlp.awaitSpans(spans -> {
                    tested.countDown();
                    return spans.size() >= 2;
                }, Duration.ofSeconds(30)));
        // Only once the waiter has seen no spans does the export go out, so it is a wake-up that ends the wait.
        assertThat(tested.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(awaited).isNotDone();

        post("/v1/traces", "application/x-protobuf", null, request().toByteArray());

        assertDecodedRequest(awaited.get(10, TimeUnit.SECONDS));
    }

    @Test
    void awaitSpansFailsWithWhatDidArrive() throws Exception {
        post("/v1/traces", "application/x-protobuf", null, request().toByteArray());

        assertThatThrownBy(() -> otlp.awaitSpans(spans -> spans.size() >= 3, Duration.ofMillis(100)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("received 2 spans in 1 requests")
                .hasMessageContaining("trace " + TRACE + " (2 spans)")
                .hasMessageContaining("    child [CLIENT] span=" + CHILD);
    }

    @Test
    void clearForgetsSpansAndRequests() throws Exception {
        post("/v1/traces", "application/x-protobuf", null, request().toByteArray());
        assertThat(otlp.spans()).hasSize(2);

        otlp.clear();

        assertThat(otlp.spans()).isEmpty();
        assertThat(otlp.requests()).isZero();
        assertThat(otlp.traceIds()).isEmpty();
    }

    @Test
    void rendersEachTraceAsATreeWithOrphansAtTheTop() {
        ReceivedSpan root = span(TRACE, ROOT, "", "root", 0, 3_000_000, Map.of("http.route", "/x"));
        ReceivedSpan late = span(TRACE, "00000000000000b2", ROOT, "second", 2_000_000, 2_500_000, Map.of());
        ReceivedSpan early = span(TRACE, "00000000000000b1", ROOT, "first", 1_000_000, 1_500_000, Map.of("n", 1L));
        ReceivedSpan grandchild = span(TRACE, "00000000000000c1", "00000000000000b1", "deep", 1_100_000, 1_200_000,
                Map.of("list", List.of("a\nb", 2L)));
        ReceivedSpan orphan = span(TRACE, "00000000000000d1", "00000000000000ff", "orphan", 500_000, 600_000, Map.of());
        ReceivedSpan other = span("0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b7", "", "other", 0, 1_000,
                Map.of());

        String tree = OtlpReceiver.renderTree(List.of(late, grandchild, other, root, early, orphan));

        assertThat(tree).isEqualTo("""
                trace 5b8efff798038103d269b633813fc60c (5 spans)
                  root [SERVER] span=eee19b7ec3c1b174 trace=5b8efff798038103d269b633813fc60c 3.000ms status=UNSET {http.route="/x"}
                    first [SERVER] span=00000000000000b1 parent=eee19b7ec3c1b174 trace=5b8efff798038103d269b633813fc60c 0.500ms status=UNSET {n=1}
                      deep [SERVER] span=00000000000000c1 parent=00000000000000b1 trace=5b8efff798038103d269b633813fc60c 0.100ms status=UNSET {list=["a\\nb", 2]}
                    second [SERVER] span=00000000000000b2 parent=eee19b7ec3c1b174 trace=5b8efff798038103d269b633813fc60c 0.500ms status=UNSET
                  orphan [SERVER] span=00000000000000d1 parent=00000000000000ff trace=5b8efff798038103d269b633813fc60c 0.100ms status=UNSET (parent not received)
                trace 0af7651916cd43dd8448eb211c80319c (1 span)
                  other [SERVER] span=00f067aa0ba902b7 trace=0af7651916cd43dd8448eb211c80319c 0.001ms status=UNSET
                """);
        assertThat(OtlpReceiver.renderTree(List.of())).isEqualTo("(no spans)\n");
    }

    @Test
    void spansAreImmutable() throws Exception {
        post("/v1/traces", "application/x-protobuf", null, request().toByteArray());
        ReceivedSpan child = otlp.trace(TRACE).get(1);

        assertThatThrownBy(() -> otlp.spans().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> child.attributes().put("x", 1L)).isInstanceOf(UnsupportedOperationException.class);
        @SuppressWarnings("unchecked")
        List<Object> array = (List<Object>) child.attribute("tags");
        assertThatThrownBy(() -> array.add("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> child.events().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** A SERVER root and a CLIENT child of trace {@link #TRACE}, built with the OTLP bindings. */
    private static ExportTraceServiceRequest request() {
        Span root = Span.newBuilder()
                .setTraceId(ByteString.copyFrom(HEX.parseHex(TRACE)))
                .setSpanId(ByteString.copyFrom(HEX.parseHex(ROOT)))
                .setName("root").setKind(Span.SpanKind.SPAN_KIND_SERVER)
                .setStartTimeUnixNano(1_000).setEndTimeUnixNano(5_000)
                .build();
        Span child = Span.newBuilder()
                .setTraceId(ByteString.copyFrom(HEX.parseHex(TRACE)))
                .setSpanId(ByteString.copyFrom(HEX.parseHex(CHILD)))
                .setParentSpanId(ByteString.copyFrom(HEX.parseHex(ROOT)))
                .setName("child").setKind(Span.SpanKind.SPAN_KIND_CLIENT)
                .setStartTimeUnixNano(2_000).setEndTimeUnixNano(4_000)
                .addAttributes(keyValue("tokens", AnyValue.newBuilder().setIntValue(12).build()))
                .addAttributes(keyValue("tags", AnyValue.newBuilder().setArrayValue(ArrayValue.newBuilder()
                        .addValues(AnyValue.newBuilder().setStringValue("a"))
                        .addValues(AnyValue.newBuilder().setDoubleValue(0.5))).build()))
                .addAttributes(keyValue("empty", AnyValue.getDefaultInstance()))
                .addAttributes(keyValue("nested", AnyValue.newBuilder().setKvlistValue(KeyValueList.newBuilder()
                        .addValues(keyValue("ok", AnyValue.newBuilder().setBoolValue(false).build()))).build()))
                .addEvents(Span.Event.newBuilder().setName("retry").setTimeUnixNano(3_000)
                        .addAttributes(keyValue("attempt", AnyValue.newBuilder().setIntValue(2).build())))
                .setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_ERROR).setMessage("boom"))
                .build();
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder()
                        .setResource(Resource.newBuilder()
                                .addAttributes(keyValue("service.name", AnyValue.newBuilder().setStringValue("raw").build())))
                        .addScopeSpans(ScopeSpans.newBuilder()
                                .setScope(InstrumentationScope.newBuilder().setName("dev.parley.raw"))
                                .addSpans(root)
                                .addSpans(child)))
                .build();
    }

    /** What {@link #request()} must decode to. */
    private static void assertDecodedRequest(List<ReceivedSpan> spans) {
        assertThat(spans).hasSize(2);
        ReceivedSpan root = spans.get(0);
        ReceivedSpan child = spans.get(1);
        assertThat(root).isEqualTo(new ReceivedSpan(TRACE, ROOT, "", "", "root", ReceivedSpan.Kind.SERVER, 1_000,
                5_000, Map.of(), new ReceivedSpan.Status(ReceivedSpan.StatusCode.UNSET, ""), List.of(), List.of(),
                Map.of("service.name", "raw"), "dev.parley.raw", ""));
        assertThat(child.traceId()).isEqualTo(TRACE);
        assertThat(child.spanId()).isEqualTo(CHILD);
        assertThat(child.parentSpanId()).isEqualTo(ROOT);
        assertThat(child.kind()).isEqualTo(ReceivedSpan.Kind.CLIENT);
        assertThat(child.attributes()).containsExactly(
                Map.entry("tokens", 12L),
                Map.entry("tags", List.of("a", 0.5)),
                new java.util.AbstractMap.SimpleEntry<>("empty", null),
                Map.entry("nested", Map.of("ok", false)));
        assertThat(child.events()).containsExactly(new ReceivedSpan.Event("retry", 3_000, Map.of("attempt", 2L)));
        assertThat(child.status()).isEqualTo(new ReceivedSpan.Status(ReceivedSpan.StatusCode.ERROR, "boom"));
    }

    private static KeyValue keyValue(String key, AnyValue value) {
        return KeyValue.newBuilder().setKey(key).setValue(value).build();
    }

    private static ReceivedSpan span(String trace, String id, String parent, String name, long start, long end,
                                     Map<String, Object> attributes) {
        return new ReceivedSpan(trace, id, parent, "", name, ReceivedSpan.Kind.SERVER, start, end, attributes,
                new ReceivedSpan.Status(ReceivedSpan.StatusCode.UNSET, ""), List.of(), List.of(), Map.of(), "t", "");
    }

    private HttpResponse<byte[]> post(String path, String contentType, String encoding, byte[] body)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(otlp.endpoint() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (encoding != null) {
            request.header("Content-Encoding", encoding);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(bytes);
        }
        return out.toByteArray();
    }
}

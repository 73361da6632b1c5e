package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ChunkParserTest {

    private final ChunkParser parser = new ChunkParser(new JsonFactory());

    private String accept(String json) throws Exception {
        byte[] bytes = ("xx" + json + "yy").getBytes(StandardCharsets.UTF_8);
        // Offset and length are honoured: the payload sits inside a larger buffer.
        return parser.accept(bytes, 2, bytes.length - 4);
    }

    private static String content(String content) {
        return "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024\","
                + "\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" + content
                + "},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
    }

    @Test
    void readsContentDeltasModelAndFinishReason() throws Exception {
        assertThat(accept("{\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"))
                .isNull();
        assertThat(parser.progressed()).isFalse();
        assertThat(accept(content("\"Hel\""))).isEqualTo("Hel");
        assertThat(parser.progressed()).isTrue();
        assertThat(accept(content("\"lo\""))).isEqualTo("lo");
        assertThat(accept("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}")).isNull();

        assertThat(parser.text()).isEqualTo("Hello");
        assertThat(parser.finishReason(false)).isEqualTo(FinishReason.LENGTH);
        assertThat(parser.model()).isEqualTo("m");
        assertThat(parser.usage()).isNull();
        assertThat(parser.toolCalls()).isEmpty();
    }

    @Test
    void unescapesContent() throws Exception {
        assertThat(accept(content("\"line\\none \\\"quoted\\\" \\\\ tab\\t \\u00e9\\u20ac \\ud83d\\ude00 </b>\"")))
                .isEqualTo("line\none \"quoted\" \\ tab\t \u00e9\u20ac \ud83d\ude00 </b>");
        assertThat(accept(content("\"raw \u00e9\u20ac\ud83d\ude00\""))).isEqualTo("raw \u00e9\u20ac\ud83d\ude00");
    }

    @Test
    void nullContentAndMissingChoicesCarryNothing() throws Exception {
        assertThat(accept(content("null"))).isNull();
        assertThat(accept("{\"choices\":null}")).isNull();
        assertThat(accept("{}")).isNull();
        assertThat(parser.progressed()).isFalse();
    }

    @Test
    void readsOnlyTheFirstChoice() throws Exception {
        assertThat(accept("{\"choices\":[{\"delta\":{\"content\":\"a\"}},{\"delta\":{\"content\":\"b\"},"
                + "\"finish_reason\":\"stop\"}]}")).isEqualTo("a");
        assertThat(parser.finishReason(false)).isEqualTo(FinishReason.STOP);
    }

    @Test
    void skipsFieldsItDoesNotNeedWhateverTheirShape() throws Exception {
        assertThat(accept("{\"x\":{\"choices\":[{\"delta\":{\"content\":\"no\"}}]},\"choices\":[{\"logprobs\":"
                + "{\"content\":[{\"token\":\"t\",\"bytes\":[1,2]}]},\"delta\":{\"reasoning_content\":\"hmm\","
                + "\"refusal\":null,\"content\":\"yes\"}}],\"usage\":null,\"n\":[1,[2,{}]]}")).isEqualTo("yes");
        assertThat(parser.text()).isEqualTo("yes");
    }

    @Test
    void accumulatesToolCallFragmentsByIndex() throws Exception {
        accept("{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                + "{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"\"}}]}}]}");
        assertThat(parser.progressed()).isTrue();
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]}}]}");
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]}}]}");
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Oslo\\\"}\"}}]}}]}");
        accept("{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");

        assertThat(parser.toolCalls()).containsExactly(
                new ToolCall("call_a", "get_weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_b", "get_time", "{}"));
        assertThat(parser.finishReason(true)).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(parser.text()).isEmpty();
    }

    @Test
    void toolCallFieldsInAnyOrderAndWithoutIndex() throws Exception {
        // Arguments before the index.
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\\\"a\\\":\",\"name\":\"f\"},"
                + "\"id\":\"x\",\"index\":0}]}}]}");
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}");
        // A server that leaves out the index and sends each call whole.
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"y\",\"function\":{\"name\":\"g\","
                + "\"arguments\":\"{}\"}}]}}]}");

        assertThat(parser.toolCalls()).containsExactly(new ToolCall("x", "f", "{\"a\":1}"),
                new ToolCall("y", "g", "{}"));
        // No finish reason from upstream: tool calls mean the model wants them run.
        assertThat(parser.finishReason(true)).isEqualTo(FinishReason.TOOL_CALLS);
    }

    @Test
    void toolCallPiecesNumberCallsInTheOrderTheyStart() throws Exception {
        // The wire index need not start at 0; a call is announced once its name is known.
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"id\":\"call_a\",\"function\":{\"arguments\":\"{\\\"a\"}}]}}]}");
        assertThat(parser.toolCallDeltas()).isEmpty();
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"name\":\"f\",\"arguments\":\"\\\":\"}}]}}]}");
        assertThat(parser.toolCallDeltas()).containsExactly(new ToolCallDelta(0, "call_a", "f", "{\"a\":"));
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"1}\"}},"
                + "{\"index\":5,\"id\":\"call_b\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}}]}");
        assertThat(parser.toolCallDeltas()).containsExactly(new ToolCallDelta(0, null, null, "1}"),
                new ToolCallDelta(1, "call_b", "g", ""));
        accept(content("\"text\""));
        assertThat(parser.toolCallDeltas()).isEmpty();

        // call_b brought no arguments: the answer says "{}", and the closing piece makes its pieces say so too.
        assertThat(parser.toolCalls()).containsExactly(new ToolCall("call_a", "f", "{\"a\":1}"),
                new ToolCall("call_b", "g", "{}"));
        assertThat(parser.closingToolCallDeltas()).containsExactly(new ToolCallDelta(1, null, null, "{}"));
    }

    @Test
    void aToolCallWithoutANameIsAProtocolError() throws Exception {
        accept("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}");

        assertThatThrownBy(parser::toolCalls).isInstanceOf(UpstreamProtocolException.class);
        assertThat(UpstreamErrors.map(new UpstreamProtocolException("x"), "m").code())
                .isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
    }

    @Test
    void readsUsageFromAChunkWithEmptyChoices() throws Exception {
        accept(content("\"hi\""));
        assertThat(accept("{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}"))
                .isNull();

        assertThat(parser.progressed()).isFalse();
        assertThat(parser.usage()).isEqualTo(new Usage(12, 3));
        assertThat(parser.text()).isEqualTo("hi");
    }

    @Test
    void usageWithoutCompletionTokensCountsZero() throws Exception {
        accept("{\"choices\":[],\"usage\":{\"prompt_tokens\":5}}");

        assertThat(parser.usage()).isEqualTo(new Usage(5, 0));
    }

    @Test
    void anErrorObjectInTheStreamIsThrownWithItsMessageAndCode() {
        assertThatThrownBy(() -> accept("{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\","
                + "\"param\":null,\"code\":null}}"))
                .isInstanceOfSatisfying(UpstreamStreamError.class, e -> {
                    assertThat(e.getMessage()).isEqualTo("The server had an error");
                    assertThat(e.type()).isEqualTo("server_error");
                    assertThat(e.code()).isNull();
                    var mapped = UpstreamErrors.map(e, "m");
                    assertThat(mapped.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
                    assertThat(mapped.getMessage()).contains("The server had an error");
                });
        // vLLM-style: a numeric HTTP status as the code.
        assertThatThrownBy(() -> accept("{\"object\":\"error\",\"error\":{\"message\":\"too long\",\"code\":400}}"))
                .isInstanceOfSatisfying(UpstreamStreamError.class, e -> {
                    assertThat(e.code()).isEqualTo("400");
                    assertThat(UpstreamErrors.map(e, "m").code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                });
        assertThatThrownBy(() -> accept("{\"error\":\"overloaded\"}"))
                .isInstanceOfSatisfying(UpstreamStreamError.class,
                        e -> assertThat(e.getMessage()).isEqualTo("overloaded"));
    }

    @Test
    void aNullErrorIsNoError() throws Exception {
        assertThat(accept("{\"error\":null,\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}")).isEqualTo("ok");
    }

    @Test
    void malformedJsonIsAJacksonExceptionMappedToProtocolError() {
        for (String bad : new String[] {"{not json", "{\"choices\":[{\"delta\":{\"content\":\"cut", "[1,2]", "\"text\"",
                "{\"a\":1} trailing", "{\"a\":1}{\"b\":2}", ""}) {
            // A fresh parser each time: after a malformed chunk the stream is over.
            ChunkParser fresh = new ChunkParser(new JsonFactory());
            byte[] b = bad.getBytes(StandardCharsets.UTF_8);
            assertThatThrownBy(() -> fresh.accept(b, 0, b.length)).as(bad).isInstanceOfSatisfying(JacksonException.class,
                    e -> assertThat(UpstreamErrors.map(e, "m").code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL));
        }
    }

    @Test
    void oneParserReadsManyChunksWithWhitespaceAroundThem() throws Exception {
        for (int i = 0; i < 1000; i++) {
            assertThat(accept(" \n" + content("\"w" + i + "\"") + " \t")).isEqualTo("w" + i);
        }
        assertThat(parser.text()).startsWith("w0w1w2").endsWith("w999");
    }

    @Test
    void aChunkCutInsideAStringOrNumberIsMalformedEvenIfTheNextWouldCompleteIt() throws Exception {
        ChunkParser p = new ChunkParser(new JsonFactory());
        byte[] cut = "{\"choices\":[{\"index\":1".getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> p.accept(cut, 0, cut.length)).isInstanceOf(JacksonException.class);
    }

    @Test
    void mapsEveryFinishReason() throws Exception {
        String[][] cases = {{"stop", "STOP"}, {"length", "LENGTH"}, {"tool_calls", "TOOL_CALLS"},
                {"function_call", "TOOL_CALLS"}, {"content_filter", "CONTENT_FILTER"}, {"eos", "OTHER"}};
        for (String[] c : cases) {
            ChunkParser p = new ChunkParser(new JsonFactory());
            byte[] b = ("{\"choices\":[{\"delta\":{},\"finish_reason\":\"" + c[0] + "\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            p.accept(b, 0, b.length);
            assertThat(p.finishReason(false)).as(c[0]).isEqualTo(FinishReason.valueOf(c[1]));
        }
        assertThat(new ChunkParser(new JsonFactory()).finishReason(false)).isEqualTo(FinishReason.STOP);
    }
}

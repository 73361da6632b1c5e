package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.Usage;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CompletionBodyTest {

    private static final JsonFactory JSON = new JsonFactory();

    private static CompletionBody parse(String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return CompletionBody.parse(JSON, bytes, bytes.length);
    }

    @Test
    void readsTheFieldsParleyUsesAndSkipsTheRest() {
        CompletionBody b = parse("""
                {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024",
                 "system_fingerprint":"fp","choices":[{"index":0,"logprobs":{"content":[{"token":"x"}]},
                 "message":{"role":"assistant","content":"Hi \\u00e9\\ud83d\\ude00","refusal":null,
                 "annotations":[]},"finish_reason":"length"},{"index":1,"message":{"content":"second"}}],
                 "usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,
                 "prompt_tokens_details":{"cached_tokens":0}}}""");

        assertThat(b.text()).isEqualTo("Hi \u00e9\ud83d\ude00");
        assertThat(b.finishReason(false)).isEqualTo(FinishReason.LENGTH);
        assertThat(b.usage()).isEqualTo(new Usage(9, 4));
        assertThat(b.model()).isEqualTo("gpt-4o-mini-2024");
        assertThat(b.toolCalls()).isEmpty();
    }

    @Test
    void readsToolCallsWithNullContent() {
        CompletionBody b = parse("""
                {"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[
                 {"id":"call_1","type":"function","function":{"name":"a","arguments":"{\\"x\\":1}"}},
                 {"id":"call_2","type":"function","function":{"name":"b","arguments":""}}]}}]}""");

        assertThat(b.text()).isEmpty();
        assertThat(b.toolCalls()).extracting(c -> c.id() + " " + c.name() + " " + c.argumentsJson())
                .containsExactly("call_1 a {\"x\":1}", "call_2 b {}");
        assertThat(b.finishReason(true)).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(b.usage()).isNull();
    }

    @Test
    void anErrorObjectInsteadOfTheAnswerKeepsItsMeaning() {
        assertThatThrownBy(() -> parse("{\"error\":{\"message\":\"slow down\",\"type\":\"requests\","
                + "\"code\":\"rate_limit_exceeded\"}}"))
                .isInstanceOfSatisfying(UpstreamStreamError.class, e -> {
                    assertThat(e.whole()).isTrue();
                    assertThat(UpstreamErrors.map(e, "m").code()).isEqualTo(ErrorCode.RATE_LIMITED);
                });
        assertThatThrownBy(() -> parse("{\"error\":{\"message\":\"engine fell over\",\"code\":503}}"))
                .isInstanceOfSatisfying(UpstreamStreamError.class, e -> {
                    var mapped = UpstreamErrors.map(e, "m");
                    assertThat(mapped.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
                    assertThat(mapped.getMessage()).contains("503").contains("engine fell over");
                });
        assertThatThrownBy(() -> parse("{\"error\":\"plain text\"}"))
                .isInstanceOfSatisfying(UpstreamStreamError.class, e -> assertThat(UpstreamErrors.map(e, "m")
                        .getMessage()).isEqualTo("the model server answered with an error: plain text"));
    }

    @Test
    void whatIsNotOneCompletionObjectIsAProtocolError() {
        for (String bad : new String[] {"", "[]", "{\"choices\":[]}", "{\"id\":\"x\"}", "{\"choices\":[{}]} {}",
                "{\"choices\":[{\"message\":{\"content\":\"cut", "{not json}",
                "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{\"arguments\":\"{}\"}}]}}]}"}) {
            assertThatThrownBy(() -> parse(bad)).as(bad).isInstanceOfSatisfying(UpstreamProtocolException.class,
                    e -> assertThat(UpstreamErrors.map(e, "m").code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL));
        }
    }
}

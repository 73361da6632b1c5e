package dev.parley.provider.anthropic.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.core.ObjectMappers;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.FinishReason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Stream events as the SDK parses them, folded into one answer; events out of order are a protocol error. */
class AnswerBuilderTest {

    static RawMessageStreamEvent event(String json) throws Exception {
        return ObjectMappers.jsonMapper().readValue(json, RawMessageStreamEvent.class);
    }

    static final String START = "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\","
            + "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"usage\":"
            + "{\"input_tokens\":10,\"output_tokens\":1,\"cache_read_input_tokens\":4}}}";

    @Test
    void aDeltaBeforeMessageStartIsAProtocolError() throws Exception {
        var b = new AnswerBuilder("claude-x", 1000);
        var delta = event("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}");
        assertThatThrownBy(() -> b.accept(delta, t -> { })).isInstanceOf(ParleyException.class)
                .satisfies(e -> assertThat(((ParleyException) e).code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL));
    }

    @Test
    void jsonForABlockThatIsNoToolUseIsAProtocolError() throws Exception {
        var b = new AnswerBuilder("claude-x", 1000);
        b.accept(event(START), t -> { });
        var json = event("{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\","
                + "\"partial_json\":\"{\"}}");
        assertThatThrownBy(() -> b.accept(json, t -> { })).isInstanceOf(ParleyException.class)
                .hasMessageContaining("input_json_delta");
    }

    @Test
    void deltaUsageOverridesAndThinkingIsIgnored() throws Exception {
        var b = new AnswerBuilder("claude-x", 1000);
        List<String> tokens = new ArrayList<>();
        b.accept(event(START), tokens::add);
        b.accept(event("{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\","
                + "\"thinking\":\"\",\"signature\":\"\"}}"), tokens::add);
        b.accept(event("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
                + "\"thinking\":\"hmm\"}}"), tokens::add);
        b.accept(event("{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),
                tokens::add);
        b.accept(event("{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}"),
                tokens::add);
        b.accept(event("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"pause_turn\"},\"usage\":"
                + "{\"output_tokens\":7,\"input_tokens\":12}}"), tokens::add);
        b.accept(event("{\"type\":\"message_stop\"}"), tokens::add);
        assertThat(tokens).containsExactly("hi");
        var r = b.response();
        assertThat(r.text()).isEqualTo("hi");
        assertThat(r.finishReason()).isEqualTo(FinishReason.OTHER);
        assertThat(r.usage().promptTokens()).isEqualTo(12 + 4);
        assertThat(r.usage().cachedPromptTokens()).isEqualTo(4);
        assertThat(r.usage().completionTokens()).isEqualTo(7);
        assertThat(r.model()).isEqualTo("claude-x");
        // After message_stop the answer is closed: another content event is out of order.
        var late = event("{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
        assertThatThrownBy(() -> b.accept(late, t -> { })).hasMessageContaining("after message_stop");
    }
}

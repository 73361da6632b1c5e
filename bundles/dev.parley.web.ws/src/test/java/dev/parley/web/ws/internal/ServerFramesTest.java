package dev.parley.web.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServerFramesTest {
    private final ObjectMapper mapper = ServerFrames.newMapper();
    private final ServerFrames frames = new ServerFrames(mapper);

    @ParameterizedTest
    @ValueSource(strings = {"plain", "a \"quote\" and \\ backslash", "line\nbreak\ttab\r", "\u0000\u001f control",
            "\u00e9\u4e2d\ud83d\ude00 non-ASCII", "</script>", ""})
    void tokenFramesAreTheJsonOfTheirFields(String delta) throws Exception {
        JsonNode frame = mapper.readTree(frames.token("r\"1", 42, delta));
        assertThat(frame.size()).isEqualTo(4);
        assertThat(frame.get("type").asText()).isEqualTo("token");
        assertThat(frame.get("id").asText()).isEqualTo("r\"1");
        assertThat(frame.get("seq").asLong()).isEqualTo(42);
        assertThat(frame.get("delta").asText()).isEqualTo(delta);
    }

    @ParameterizedTest
    @ValueSource(strings = {"x"})
    void aTokenFrameWithoutIdLeavesTheIdOut(String delta) throws Exception {
        JsonNode frame = mapper.readTree(frames.token(null, 1, delta));
        assertThat(frame.has("id")).isFalse();
        assertThat(frame.get("delta").asText()).isEqualTo(delta);
    }
}

package dev.parley.testsupport.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The fake server's own checks, without the SDK: unsigned requests and request shapes Bedrock refuses. */
class FakeBedrockServerTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void anUnsignedRequestGets403MissingAuthenticationTokenAsAwsAnswers() throws Exception {
        try (FakeBedrockServer server = FakeBedrockServer.start()) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(server.endpoint() + "/model/amazon.nova-lite-v1%3A0/converse"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).header("Content-Type", "application/json")
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(403);
            assertThat(r.headers().firstValue("x-amzn-ErrorType")).hasValueSatisfying(
                    v -> assertThat(v).startsWith("MissingAuthenticationTokenException:"));
            assertThat(JSON.readTree(r.body()).path("message").asText()).isEqualTo("Missing Authentication Token");
            assertThat(server.requests()).hasSize(1);
        }
    }

    static String check(String json) throws Exception {
        return FakeBedrockServer.validateConverse(JSON.readTree(json));
    }

    @Test
    void refusesWhatConverseRefuses() throws Exception {
        assertThat(check("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}")).isNull();
        assertThat(check("{\"messages\":[]}")).contains("messages");
        assertThat(check("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"text\":\"hi\"}]}]}"))
                .contains("start with a user message");
        assertThat(check("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]},"
                + "{\"role\":\"user\",\"content\":[{\"text\":\"b\"}]}]}")).contains("alternate");
        assertThat(check("{\"messages\":[{\"role\":\"user\",\"content\":[{\"image\":{\"format\":\"bmp\","
                + "\"source\":{\"bytes\":\"Qk0=\"}}}]}]}")).contains("[gif, jpeg, png, webp]");
        assertThat(check("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]},"
                + "{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"f\","
                + "\"input\":{}}}]},{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"t1\","
                + "\"content\":[{\"text\":\"r\"}]}}]}]}")).contains("toolConfig field must be defined");
        assertThat(check("{\"messages\":[{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"x\","
                + "\"content\":[{\"text\":\"r\"}]}}]}],\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"f\","
                + "\"inputSchema\":{\"json\":{}}}}]}}")).contains("does not match a toolUse");
        assertThat(check("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}],"
                + "\"inferenceConfig\":{\"temperature\":1.5}}")).contains("between 0 and 1");
    }
}

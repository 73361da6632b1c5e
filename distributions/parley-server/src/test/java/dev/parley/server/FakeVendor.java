package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.anthropic.AnthropicBehaviour;
import dev.parley.testsupport.anthropic.FakeAnthropicServer;
import dev.parley.testsupport.azure.AzureBehaviour;
import dev.parley.testsupport.azure.AzureRequest;
import dev.parley.testsupport.azure.FakeAzureOpenAiServer;
import dev.parley.testsupport.bedrock.BedrockBehaviour;
import dev.parley.testsupport.bedrock.FakeBedrockServer;
import dev.parley.testsupport.gemini.FakeGeminiServer;
import dev.parley.testsupport.gemini.GeminiBehaviour;
import dev.parley.testsupport.mistral.FakeMistralServer;
import dev.parley.testsupport.mistral.MistralBehaviour;
import dev.parley.testsupport.ollama.FakeOllamaServer;
import dev.parley.testsupport.ollama.OllamaBehaviour;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One provider plugin under end-to-end test and the fake vendor server (test-support) it is pointed at: the plugin's
 * registry id, the environment a real admin would set for its default instance, the model it serves, and
 * what the vendor's wire protocol says a request must look like (route, auth header, where the prompt, a tool result
 * and an image go). The fakes answer {@code "echo: " + <the last user text>} one word per streamed piece unless
 * scripted otherwise, and count usage deterministically: prompt tokens are the words of the request's message texts,
 * answer tokens the pieces sent.
 */
abstract class FakeVendor implements AutoCloseable {
    /** The request the vendor received, in one shape for every fake. */
    record Sent(String method, String path, Function<String, String> header, JsonNode body) {
        static Sent of(RecordedRequest r) {
            return new Sent(r.method(), r.path(), r::header, r.body());
        }

        static Sent of(AzureRequest r) {
            return new Sent(r.method(), r.path(), r::header, r.body());
        }
    }

    /** The plugin's id in the registry ({@code Parley-Plugin}). */
    final String pluginId;
    /** The provider id of the default instance. */
    final String providerId;
    /** The model clients ask for. */
    final String model;

    FakeVendor(String pluginId, String providerId, String model) {
        this.pluginId = pluginId;
        this.providerId = providerId;
        this.model = model;
    }

    /** What an admin sets in the server's environment for the plugin's default instance (README, Providers). */
    abstract Map<String, String> env();

    /** The model the vendor says answered (what the client APIs report as the answering model). */
    abstract String answeringModel();

    /** Every chat request the vendor received, in order. */
    abstract List<Sent> chatRequests();

    /** Checks route and authentication as the vendor's API reference demands them. */
    abstract void assertRouteAndAuth(Sent s);

    /** The text of the last message of the request (the user's prompt, or the tool result that answers a call). */
    abstract String lastUserText(JsonNode body);

    /** Scripts the next answer as one call of tool {@code name} with {@code argumentsJson}. */
    abstract void enqueueToolCall(String name, String argumentsJson);

    /** The id the vendor gave the scripted call, or null when the vendor's calls carry none (Parley makes one). */
    abstract String scriptedCallId();

    /** Checks that the tool result for call {@code callId} of tool {@code name} went up as the vendor expects it. */
    abstract void assertToolResultSent(JsonNode body, String callId, String name, String result);

    /** Checks that a PNG image part (base64 {@code png}) went up as the vendor expects it. */
    abstract void assertImageSent(JsonNode body, String png);

    /** Scripts the next answer as the vendor's rate-limit error with a retry hint of {@code seconds}. */
    abstract void enqueueRateLimit(long seconds);

    /** The one chat request whose last message carries {@code marker}. */
    Sent requestFor(String marker) {
        List<Sent> matching = chatRequests().stream().filter(s -> lastUserText(s.body()).contains(marker)).toList();
        assertThat(matching).as("%s requests whose last message carries '%s'", pluginId, marker).hasSize(1);
        return matching.get(0);
    }

    /** The last chat request whose body carries {@code marker} anywhere. */
    Sent lastRequestWith(String marker) {
        List<Sent> all = chatRequests();
        for (int i = all.size() - 1; i >= 0; i--) {
            if (all.get(i).body().toString().contains(marker)) {
                return all.get(i);
            }
        }
        throw new AssertionError(pluginId + " received no request carrying " + marker);
    }

    /** Whitespace-separated words: how every fake counts prompt tokens and streams answers. */
    static long words(String text) {
        String t = text.strip();
        return t.isEmpty() ? 0 : t.split("\\s+").length;
    }

    @Override
    public String toString() {
        return pluginId;
    }

    static JsonNode last(JsonNode array) {
        assertThat(array.isArray() && array.size() > 0).as("a non-empty array: %s", array).isTrue();
        return array.get(array.size() - 1);
    }

    /** A string, or the joined {@code text} of an array of typed parts. */
    static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        var sb = new StringBuilder();
        content.forEach(p -> sb.append(p.path("text").asText("")));
        return sb.toString();
    }

    static <T> List<Sent> sent(List<T> requests, Function<T, Sent> f) {
        var out = new ArrayList<Sent>();
        requests.forEach(r -> out.add(f.apply(r)));
        return out;
    }

    // ---- the six vendors -----------------------------------------------------------------------------------------

    static final class Anthropic extends FakeVendor {
        static final String KEY = "sk-ant-e2e";
        static final String ANSWERED_BY = "claude-sonnet-4-5-20250929";
        final FakeAnthropicServer server = FakeAnthropicServer.start(KEY);

        Anthropic() {
            super("anthropic", "anthropic", "claude-sonnet-4-5");
            server.defaultBehaviour(AnthropicBehaviour.echo().answeredBy(ANSWERED_BY));
        }

        @Override
        Map<String, String> env() {
            return Map.of("ANTHROPIC_API_KEY", KEY, "ANTHROPIC_BASE_URL", server.baseUrl(), "ANTHROPIC_MODELS", model);
        }

        @Override
        String answeringModel() {
            return ANSWERED_BY;
        }

        @Override
        List<Sent> chatRequests() {
            return sent(server.messageRequests(), Sent::of);
        }

        @Override
        void assertRouteAndAuth(Sent s) {
            assertThat(s.method()).isEqualTo("POST");
            assertThat(s.path()).isEqualTo("/v1/messages");
            assertThat(s.header().apply("x-api-key")).isEqualTo(KEY);
            assertThat(s.header().apply("anthropic-version")).isEqualTo(FakeAnthropicServer.VERSION);
            assertThat(s.body().path("model").asText()).isEqualTo(model);
            assertThat(s.body().path("max_tokens").asInt()).isPositive();
        }

        @Override
        String lastUserText(JsonNode body) {
            JsonNode m = last(body.path("messages"));
            if (m.path("content").isArray()) {
                var sb = new StringBuilder(text(m.path("content")));
                m.path("content").forEach(b -> sb.append(text(b.path("content"))));
                return sb.toString();
            }
            return text(m.path("content"));
        }

        @Override
        void enqueueToolCall(String name, String argumentsJson) {
            server.enqueue(AnthropicBehaviour.toolUse("", new AnthropicBehaviour.ToolUse("toolu_e2e01", name, argumentsJson))
                    .answeredBy(ANSWERED_BY));
        }

        @Override
        String scriptedCallId() {
            return "toolu_e2e01";
        }

        @Override
        void assertToolResultSent(JsonNode body, String callId, String name, String result) {
            JsonNode messages = body.path("messages");
            JsonNode call = messages.get(messages.size() - 2).path("content");
            assertThat(call.findValuesAsText("type")).contains("tool_use");
            assertThat(call.findValuesAsText("id")).contains(callId);
            JsonNode answer = last(messages);
            assertThat(answer.path("role").asText()).isEqualTo("user");
            JsonNode block = answer.path("content").get(0);
            assertThat(block.path("type").asText()).isEqualTo("tool_result");
            assertThat(block.path("tool_use_id").asText()).isEqualTo(callId);
            assertThat(text(block.path("content"))).isEqualTo(result);
        }

        @Override
        void assertImageSent(JsonNode body, String png) {
            JsonNode content = last(body.path("messages")).path("content");
            JsonNode image = null;
            for (JsonNode b : content) {
                if (b.path("type").asText().equals("image")) {
                    image = b;
                }
            }
            assertThat(image).as("an image block in %s", content).isNotNull();
            assertThat(image.at("/source/type").asText()).isEqualTo("base64");
            assertThat(image.at("/source/media_type").asText()).isEqualTo("image/png");
            assertThat(image.at("/source/data").asText()).isEqualTo(png);
        }

        @Override
        void enqueueRateLimit(long seconds) {
            server.enqueue(AnthropicBehaviour.rateLimited(seconds));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    static final class Azure extends FakeVendor {
        static final String KEY = "azure-e2e-key";
        static final String DEPLOYMENT = "gpt4o-prod";
        static final String ANSWERED_BY = "gpt-4o-2024-08-06";
        final FakeAzureOpenAiServer server = FakeAzureOpenAiServer.start(KEY).deployment(DEPLOYMENT, ANSWERED_BY);

        Azure() {
            super("azure-openai", "azure-openai", "gpt-4o");
        }

        @Override
        Map<String, String> env() {
            return Map.of("AZURE_OPENAI_ENDPOINT", server.endpoint(), "AZURE_OPENAI_API_KEY", KEY,
                    "AZURE_OPENAI_DEPLOYMENTS", model + "=" + DEPLOYMENT);
        }

        @Override
        String answeringModel() {
            return ANSWERED_BY;
        }

        @Override
        List<Sent> chatRequests() {
            return sent(server.requests().stream().filter(r -> r.path().endsWith("/chat/completions")).toList(), Sent::of);
        }

        @Override
        void assertRouteAndAuth(Sent s) {
            assertThat(s.method()).isEqualTo("POST");
            assertThat(s.path()).isIn("/openai/deployments/" + DEPLOYMENT + "/chat/completions", "/openai/v1/chat/completions");
            if (s.path().startsWith("/openai/v1/")) {
                assertThat(s.body().path("model").asText()).isEqualTo(DEPLOYMENT);
            }
            assertThat(s.header().apply("api-key")).isEqualTo(KEY);
        }

        @Override
        String lastUserText(JsonNode body) {
            return text(last(body.path("messages")).path("content"));
        }

        @Override
        void enqueueToolCall(String name, String argumentsJson) {
            server.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("call_az_e2e", name, argumentsJson)));
        }

        @Override
        String scriptedCallId() {
            return "call_az_e2e";
        }

        @Override
        void assertToolResultSent(JsonNode body, String callId, String name, String result) {
            openAiToolResult(body, callId, name, result);
        }

        @Override
        void assertImageSent(JsonNode body, String png) {
            openAiImage(body, png);
        }

        @Override
        void enqueueRateLimit(long seconds) {
            server.enqueue(AzureBehaviour.rateLimited(seconds, seconds * 1000));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    static final class Bedrock extends FakeVendor {
        final FakeBedrockServer server = FakeBedrockServer.start();

        Bedrock() {
            super("bedrock", "bedrock", "amazon.nova-lite-v1:0");
        }

        @Override
        Map<String, String> env() {
            return Map.of("PARLEY_BEDROCK_REGION", FakeBedrockServer.REGION, "PARLEY_BEDROCK_ENDPOINT", server.endpoint(),
                    "PARLEY_BEDROCK_ACCESS_KEY_ID", FakeBedrockServer.ACCESS_KEY_ID,
                    "PARLEY_BEDROCK_SECRET_ACCESS_KEY", FakeBedrockServer.SECRET_ACCESS_KEY,
                    "PARLEY_BEDROCK_MODELS", model);
        }

        @Override
        String answeringModel() {
            // Converse answers carry no model id: the one asked for answered.
            return model;
        }

        @Override
        List<Sent> chatRequests() {
            return sent(server.requests().stream().filter(r -> r.path().contains("/converse")).toList(), Sent::of);
        }

        @Override
        void assertRouteAndAuth(Sent s) {
            assertThat(s.method()).isEqualTo("POST");
            assertThat(s.path()).isIn("/model/amazon.nova-lite-v1%3A0/converse-stream", "/model/amazon.nova-lite-v1%3A0/converse",
                    "/model/amazon.nova-lite-v1:0/converse-stream", "/model/amazon.nova-lite-v1:0/converse");
            // The fake refuses a request whose SigV4 signature does not verify; this is the credential scope it checked.
            assertThat(s.header().apply("authorization")).startsWith("AWS4-HMAC-SHA256 Credential="
                    + FakeBedrockServer.ACCESS_KEY_ID + "/").contains("/" + FakeBedrockServer.REGION + "/bedrock/aws4_request");
        }

        @Override
        String lastUserText(JsonNode body) {
            JsonNode content = last(body.path("messages")).path("content");
            var sb = new StringBuilder(text(content));
            content.forEach(b -> sb.append(text(b.at("/toolResult/content"))));
            return sb.toString();
        }

        @Override
        void enqueueToolCall(String name, String argumentsJson) {
            server.enqueue(BedrockBehaviour.toolUses(new BedrockBehaviour.ToolUse("tooluse_e2e01", name, argumentsJson)));
        }

        @Override
        String scriptedCallId() {
            return "tooluse_e2e01";
        }

        @Override
        void assertToolResultSent(JsonNode body, String callId, String name, String result) {
            JsonNode messages = body.path("messages");
            JsonNode use = messages.get(messages.size() - 2).path("content");
            assertThat(use.findValuesAsText("toolUseId")).contains(callId);
            JsonNode answer = last(messages);
            assertThat(answer.path("role").asText()).isEqualTo("user");
            JsonNode toolResult = answer.at("/content/0/toolResult");
            assertThat(toolResult.path("toolUseId").asText()).isEqualTo(callId);
            assertThat(text(toolResult.path("content"))).isEqualTo(result);
            assertThat(body.at("/toolConfig/tools/0/toolSpec/name").asText()).isEqualTo(name);
        }

        @Override
        void assertImageSent(JsonNode body, String png) {
            JsonNode image = last(body.path("messages")).path("content").findValue("image");
            assertThat(image).as("an image block").isNotNull();
            assertThat(image.path("format").asText()).isEqualTo("png");
            assertThat(image.at("/source/bytes").asText()).isEqualTo(png);
        }

        @Override
        void enqueueRateLimit(long seconds) {
            server.enqueue(BedrockBehaviour.httpError(429, "ThrottlingException", "Too many requests, please wait before trying again.")
                    .retryAfter(seconds));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    static final class Gemini extends FakeVendor {
        static final String KEY = "gemini-e2e-key";
        final FakeGeminiServer server = FakeGeminiServer.start(KEY);

        Gemini() {
            super("gemini", "gemini", "gemini-2.5-flash");
        }

        @Override
        Map<String, String> env() {
            return Map.of("GEMINI_API_KEY", KEY, "GEMINI_BASE_URL", server.baseUrl(), "GEMINI_MODELS", model);
        }

        @Override
        String answeringModel() {
            return model; // the fake's modelVersion is the model of the request
        }

        @Override
        List<Sent> chatRequests() {
            return sent(server.generateRequests(), Sent::of);
        }

        @Override
        void assertRouteAndAuth(Sent s) {
            assertThat(s.method()).isEqualTo("POST");
            assertThat(s.path()).isIn("/v1beta/models/" + model + ":streamGenerateContent?alt=sse",
                    "/v1beta/models/" + model + ":generateContent");
            assertThat(s.header().apply("x-goog-api-key")).isEqualTo(KEY);
        }

        @Override
        String lastUserText(JsonNode body) {
            JsonNode parts = last(body.path("contents")).path("parts");
            var sb = new StringBuilder(text(parts));
            parts.forEach(p -> sb.append(p.path("functionResponse").path("response").toString()));
            return sb.toString();
        }

        @Override
        void enqueueToolCall(String name, String argumentsJson) {
            server.enqueue(GeminiBehaviour.functionCalls(new GeminiBehaviour.FunctionCall(name, argumentsJson)));
        }

        @Override
        String scriptedCallId() {
            return null;
        }

        @Override
        void assertToolResultSent(JsonNode body, String callId, String name, String result) {
            JsonNode contents = body.path("contents");
            JsonNode call = contents.get(contents.size() - 2);
            assertThat(call.path("role").asText()).isEqualTo("model");
            assertThat(call.at("/parts/0/functionCall/name").asText()).isEqualTo(name);
            JsonNode response = last(contents).at("/parts/0/functionResponse");
            assertThat(response.path("name").asText()).isEqualTo(name);
            assertThat(response.path("response").toString()).contains(result);
        }

        @Override
        void assertImageSent(JsonNode body, String png) {
            JsonNode inline = null;
            for (JsonNode p : last(body.path("contents")).path("parts")) {
                if (p.has("inlineData")) {
                    inline = p.path("inlineData");
                } else if (p.has("inline_data")) {
                    inline = p.path("inline_data");
                }
            }
            assertThat(inline).as("an inline data part").isNotNull();
            assertThat(inline.path("mimeType").asText(inline.path("mime_type").asText())).isEqualTo("image/png");
            assertThat(inline.path("data").asText()).isEqualTo(png);
        }

        @Override
        void enqueueRateLimit(long seconds) {
            server.enqueue(GeminiBehaviour.rateLimited(seconds + "s"));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    static final class Mistral extends FakeVendor {
        static final String KEY = "mistral-e2e-key";
        static final String ANSWERED_BY = "mistral-small-2506";
        final FakeMistralServer server = FakeMistralServer.start(KEY);

        Mistral() {
            super("mistral", "mistral", "mistral-small-latest");
            server.defaultBehaviour(MistralBehaviour.echo().answerModel(ANSWERED_BY));
        }

        @Override
        Map<String, String> env() {
            return Map.of("MISTRAL_API_KEY", KEY, "MISTRAL_BASE_URL", server.baseUrl(), "MISTRAL_MODELS", model);
        }

        @Override
        String answeringModel() {
            return ANSWERED_BY;
        }

        @Override
        List<Sent> chatRequests() {
            return sent(server.chatRequests(), Sent::of);
        }

        @Override
        void assertRouteAndAuth(Sent s) {
            assertThat(s.method()).isEqualTo("POST");
            assertThat(s.path()).isEqualTo("/v1/chat/completions");
            assertThat(s.header().apply("authorization")).isEqualTo("Bearer " + KEY);
            assertThat(s.body().path("model").asText()).isEqualTo(model);
        }

        @Override
        String lastUserText(JsonNode body) {
            return text(last(body.path("messages")).path("content"));
        }

        @Override
        void enqueueToolCall(String name, String argumentsJson) {
            server.enqueue(MistralBehaviour.toolCalls(new MistralBehaviour.Call("e2eCall01", name, argumentsJson))
                    .answerModel(ANSWERED_BY));
        }

        @Override
        String scriptedCallId() {
            return "e2eCall01";
        }

        @Override
        void assertToolResultSent(JsonNode body, String callId, String name, String result) {
            openAiToolResult(body, callId, name, result);
        }

        @Override
        void assertImageSent(JsonNode body, String png) {
            openAiImage(body, png);
        }

        @Override
        void enqueueRateLimit(long seconds) {
            server.enqueue(MistralBehaviour.rateLimited(seconds));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    static final class Ollama extends FakeVendor {
        /** Ollama has no key; this is the token of a proxy in front of it. */
        static final String TOKEN = "ollama-proxy-e2e";
        final FakeOllamaServer server = FakeOllamaServer.start(TOKEN).chatModels("llama3.2");

        Ollama() {
            super("ollama", "ollama", "llama3.2");
        }

        @Override
        Map<String, String> env() {
            return Map.of("OLLAMA_BASE_URL", server.baseUrl(), "OLLAMA_API_KEY", TOKEN, "PARLEY_OLLAMA_MODELS", model);
        }

        @Override
        String answeringModel() {
            return model;
        }

        @Override
        List<Sent> chatRequests() {
            return sent(server.chatRequests(), Sent::of);
        }

        @Override
        void assertRouteAndAuth(Sent s) {
            assertThat(s.method()).isEqualTo("POST");
            assertThat(s.path()).isEqualTo("/api/chat");
            assertThat(s.header().apply("authorization")).isEqualTo("Bearer " + TOKEN);
            assertThat(s.body().path("model").asText()).isEqualTo(model);
        }

        @Override
        String lastUserText(JsonNode body) {
            return last(body.path("messages")).path("content").asText();
        }

        @Override
        void enqueueToolCall(String name, String argumentsJson) {
            server.enqueue(OllamaBehaviour.toolCalls(new OllamaBehaviour.Call(name, argumentsJson)));
        }

        @Override
        String scriptedCallId() {
            return null;
        }

        @Override
        void assertToolResultSent(JsonNode body, String callId, String name, String result) {
            JsonNode messages = body.path("messages");
            JsonNode call = messages.get(messages.size() - 2);
            assertThat(call.path("role").asText()).isEqualTo("assistant");
            assertThat(call.at("/tool_calls/0/function/name").asText()).isEqualTo(name);
            JsonNode answer = last(messages);
            assertThat(answer.path("role").asText()).isEqualTo("tool");
            assertThat(answer.path("content").asText()).isEqualTo(result);
        }

        @Override
        void assertImageSent(JsonNode body, String png) {
            JsonNode images = last(body.path("messages")).path("images");
            assertThat(images.isArray()).as("images of %s", body).isTrue();
            assertThat(images.get(0).asText()).isEqualTo(png);
        }

        @Override
        void enqueueRateLimit(long seconds) {
            server.enqueue(OllamaBehaviour.rateLimited(seconds));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    /** OpenAI's shape, which Azure and Mistral share: the assistant's tool_calls, then a tool message answering one. */
    static void openAiToolResult(JsonNode body, String callId, String name, String result) {
        JsonNode messages = body.path("messages");
        JsonNode call = messages.get(messages.size() - 2);
        assertThat(call.path("role").asText()).isEqualTo("assistant");
        assertThat(call.at("/tool_calls/0/id").asText()).isEqualTo(callId);
        assertThat(call.at("/tool_calls/0/function/name").asText()).isEqualTo(name);
        JsonNode answer = last(messages);
        assertThat(answer.path("role").asText()).isEqualTo("tool");
        assertThat(answer.path("tool_call_id").asText()).isEqualTo(callId);
        assertThat(text(answer.path("content"))).isEqualTo(result);
    }

    /** OpenAI's image part, which Azure and Mistral share ({@code image_url} an object with {@code url}, or the URL). */
    static void openAiImage(JsonNode body, String png) {
        JsonNode part = null;
        for (JsonNode p : last(body.path("messages")).path("content")) {
            if (p.path("type").asText().equals("image_url")) {
                part = p;
            }
        }
        assertThat(part).as("an image_url part in %s", body).isNotNull();
        JsonNode url = part.path("image_url");
        assertThat(url.isTextual() ? url.asText() : url.path("url").asText()).isEqualTo("data:image/png;base64," + png);
    }
}

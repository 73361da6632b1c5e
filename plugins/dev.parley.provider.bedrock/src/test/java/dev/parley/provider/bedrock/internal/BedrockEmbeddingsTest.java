package dev.parley.provider.bedrock.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.bedrock.FakeBedrockServer;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Titan Text Embeddings through InvokeModel, with the real SDK against the fake server. */
class BedrockEmbeddingsTest {

    static final String V2 = "amazon.titan-embed-text-v2:0";
    FakeBedrockServer server;
    BedrockProvider provider;

    @BeforeEach
    void start() {
        server = FakeBedrockServer.start();
        provider = new BedrockProvider(TestConfigs.forServer(server, "embeddingModels",
                new String[] {V2, "amazon.titan-embed-text-v1"}));
    }

    @AfterEach
    void stop() {
        provider.deactivate();
        server.close();
    }

    EmbeddingResponse embed(EmbeddingRequest r) throws Exception {
        return provider.embed(r).toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    ParleyException failure(EmbeddingRequest r) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(
                () -> provider.embed(r).toCompletableFuture().get(20, TimeUnit.SECONDS));
        assertThat(t).isInstanceOf(ExecutionException.class);
        assertThat(t.getCause()).isInstanceOf(ParleyException.class);
        return (ParleyException) t.getCause();
    }

    @Test
    void describesTheTitanModels() {
        assertThat(provider.embeddingModels()).containsExactly(
                new EmbeddingModel(V2, "bedrock", 1024, 8192, 1, true),
                new EmbeddingModel("amazon.titan-embed-text-v1", "bedrock", 1536, 8192, 1, false));
    }

    @Test
    void embedsEachInputWithOneInvokeModelCallAskingForTheDimensions() throws Exception {
        EmbeddingResponse r = embed(new EmbeddingRequest(V2, List.of("first text", "the second text"), 256));

        assertThat(r.model()).isEqualTo(V2);
        assertThat(r.embeddings()).hasSize(2);
        assertThat(r.embeddings().get(0).index()).isZero();
        assertThat(r.embeddings().get(1).index()).isEqualTo(1);
        for (var e : r.embeddings()) {
            assertThat(e.vector()).hasSize(256);
            double norm = 0;
            for (float f : e.vector()) {
                norm += f * f;
            }
            assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
        }
        assertThat(r.embeddings().get(0).vector()).isNotEqualTo(r.embeddings().get(1).vector());
        // inputTextTokenCount of each call: 2 + 3 words.
        assertThat(r.promptTokens()).isEqualTo(5);
        List<RecordedRequest> calls = server.requests();
        assertThat(calls).hasSize(2);
        assertThat(calls).allSatisfy(c -> {
            assertThat(c.path()).isEqualTo("/model/amazon.titan-embed-text-v2%3A0/invoke");
            assertThat(c.body().path("dimensions").asInt()).isEqualTo(256);
            assertThat(c.body().path("normalize").asBoolean()).isTrue();
        });
        assertThat(calls).extracting(c -> c.body().path("inputText").asText())
                .containsExactlyInAnyOrder("first text", "the second text");
    }

    @Test
    void withoutDimensionsTheModelsDefaultIsAskedFor() throws Exception {
        assertThat(embed(new EmbeddingRequest(V2, List.of("x"), null)).embeddings().get(0).vector()).hasSize(1024);
    }

    @Test
    void titanV1TakesOnlyTheText() throws Exception {
        EmbeddingResponse r = embed(new EmbeddingRequest("amazon.titan-embed-text-v1", List.of("x y"), null));
        assertThat(r.embeddings().get(0).vector()).hasSize(1536);
        assertThat(server.lastRequest().body().has("dimensions")).isFalse();
    }

    @Test
    void dimensionsTheModelCannotGiveAreRefusedBeforeAnyCall() {
        assertThat(failure(new EmbeddingRequest(V2, List.of("x"), 300)).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(failure(new EmbeddingRequest("amazon.titan-embed-text-v1", List.of("x"), 256)).code())
                .isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void anUnknownModelIsModelNotFoundAndAnEmptyInputInvalid() {
        assertThat(failure(new EmbeddingRequest("cohere.embed-english-v3", List.of("x"), null)).code())
                .isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(failure(new EmbeddingRequest(V2, List.of("ok", ""), null)).code())
                .isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    @Test
    void aWrongSecretFailsTheEmbeddingWithProviderAuth() {
        BedrockProvider wrong = new BedrockProvider(TestConfigs.forServer(server, "_secretAccessKey", "nope"));
        try {
            assertThatThrownBy(() -> wrong.embed(new EmbeddingRequest(V2, List.of("x"), null)).toCompletableFuture()
                    .get(20, TimeUnit.SECONDS)).cause().isInstanceOf(ParleyException.class)
                    .extracting(e -> ((ParleyException) e).code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        } finally {
            wrong.deactivate();
        }
    }
}
